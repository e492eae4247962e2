"""What a tracked video leaves behind: the annotated MP4, the PoseTrack JSON and the analysis CSV."""
