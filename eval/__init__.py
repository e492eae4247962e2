"""Evaluation: PoseTrack mAP/MOTA (equal to poseval), COCO keypoint AP, MPII PCKh."""
