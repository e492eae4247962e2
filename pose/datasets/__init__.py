"""Single-frame keypoint datasets (COCO, MPII, PoseTrack) and their augmentation.

- `records`: `PersonRecord`, the one shape every loader returns, and shared checks.
- `coco`, `mpii`, `posetrack`: annotation files -> records, with one-sentence errors naming the
  file and the record.
- `augment`: the official random crop (half-body, scale, rotation, flip).
- `dataset`: `KeypointDataset`, records -> normalised crops, heatmap targets and weights.
"""
