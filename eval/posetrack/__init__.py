"""PoseTrack 2017/2018 files (read, write, validate) and their mAP/MOTA, equal to poseval."""
