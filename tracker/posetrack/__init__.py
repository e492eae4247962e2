"""PoseTrack as the tracker's input: whole splits, and track ids for the poses of given files."""
