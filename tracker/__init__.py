"""The tracking pipeline: frames in, tracked poses, annotated video and PoseTrack JSON out."""
