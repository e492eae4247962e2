"""Single-frame keypoint datasets (COCO, MPII, PoseTrack) and their augmentation."""
