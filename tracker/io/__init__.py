"""Frames in and out: video, image-folder and stream sources, and the atomic MP4 writer."""
