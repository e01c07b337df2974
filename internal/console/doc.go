// Package console is the local web console of `lsms serve`: an HTTP handler
// serving a single page (HTML, CSS and JavaScript embedded in the binary with
// go:embed; no CDN, no external fonts, nothing fetched from outside the
// server, so it works with no internet) and a small JSON API behind it.
//
// The page loads CT slices (DICOM files of a series, or 16-bit PNGs of
// HU + offset), shows them with client-side window/level, sends a referring
// expression to the model and draws the returned mask over the slice, with
// lesion measurements (package device/measure: connected components, area,
// longest diameter, series volume) and the latency of each stage.
//
// # API
//
//	GET  /                       the page (GET /?token=T sets the token cookie)
//	GET  /static/{file}          its script and style sheet
//	GET  /api/info               model name, precision, threshold, limits
//	POST /api/slices             multipart upload, "file" parts (DICOM or PNG),
//	                             optional "hu_offset" and "pixel_spacing"
//	                             ("ROW,COL" mm) fields before them (PNG)
//	GET  /api/slices             every stored slice
//	GET  /api/slices/{id}        one slice's metadata
//	GET  /api/slices/{id}/hu     its HU as little-endian int16, row-major
//	POST /api/segment            {"slices":[id...],"expr":"...","threshold":t}
//
// Every API error is JSON, {"error": "..."}, with a 4xx status for bad input and
// 5xx for a failure of the server; a bad upload never panics the server.
// Masks travel run-length encoded (see EncodeRLE).
//
// # Access
//
// With a token (Config.Token) every /api/ request must carry it, either as
// "Authorization: Bearer T" or as the HttpOnly cookie set by opening
// /?token=T (which redirects to / so the token leaves the address bar);
// tokens are compared in constant time. Without a token the server only
// answers requests whose Host is a loopback name or address, so a web page
// elsewhere cannot reach it through DNS rebinding. In both cases cross-origin
// state-changing requests are refused (http.CrossOriginProtection). The
// command refuses to listen on a non-loopback address without a token
// (CheckListen).
package console
