package proxy

// Version is discoh's version, reported by INFO and -version.
var Version = "0.1.0-dev"
