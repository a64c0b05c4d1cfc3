package reload

// Unpaced makes r's builds run flat out, for the tests of package
// reload_test that make dozens of builds: pacing would only make them
// slower. Call it before Run.
func Unpaced(r *Reloader) { r.unpaced = true }
