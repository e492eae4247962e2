"""The per-frame tracking step: pipeline, flow stage, OKS association and the track set."""
