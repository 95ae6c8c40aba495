"""Thin command-line adapters: parse, call one service, print (rich or --json)."""
