"""KVQ-style processing workflows (enhance / pre-process / transcode) and full-reference labelling.

`degrade` builds a processed set from source videos as the KVQ paper did; `fullref`
scores each processed video against its source (VMAF v0.6.1, PSNR, SSIM) and maps
VMAF to a MOS-like 1-5 proxy; `pairs` picks near-tie rank pairs.
"""
