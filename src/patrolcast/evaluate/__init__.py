"""Forecast evaluation: metrics, rolling-origin splits, backtests, executors, reports."""
