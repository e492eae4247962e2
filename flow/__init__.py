"""Dense optical flow between frames and propagation of poses by flow."""
