"""reelscore: engagement (ECR, NAWP) and perceptual quality for short-form video."""

__version__ = "0.1.0"
