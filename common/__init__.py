"""The bottom layer every hrtrack package may use: the base error type, atomic files, checked downloads,
one JSON/YAML reader, the CLI runner and quiet native libraries. It imports no other hrtrack package."""
