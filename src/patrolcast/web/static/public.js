import { localiseTimes } from "./common.js";
localiseTimes();
