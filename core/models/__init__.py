"""Backbones: the torchvision networks cut into named layer groups, and their offline weights."""
