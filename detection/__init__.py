"""Person detection: the Detector protocol and its backends."""
