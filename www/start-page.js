// Starts the page's WebAssembly. Kept in a file rather than inline so the site's
// Content-Security-Policy allows no inline script (index.html). The paths are relative to this
// file, so the site works from any sub-path.
import init from "../app.js";
init({ module_or_path: new URL("../app_bg.wasm", import.meta.url) });
