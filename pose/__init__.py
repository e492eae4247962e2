"""Pose estimation: HRNet, crops, heatmap coding, the estimator, weights and training."""
