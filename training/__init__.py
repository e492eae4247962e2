"""Single-frame training of the HRNet pose network (the parts behind `python -m training.train`).

`config` (YAML -> frozen dataclasses), `data` (records and Dataset from a config), `loss`
(JointsMSELoss, OHKM), `pretrained` (official init, ImageNet weights), `distributed` (torchrun
plumbing), `state` (checkpoint files), `validate` (COCO AP, MPII PCKh), `trainer` (the loop).
"""
