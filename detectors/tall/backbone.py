"""TALL's backbone: a clip laid out as one thumbnail image, then a Swin Transformer.

DeepfakeBench v2 ``training/detectors/tall_detector.py`` (``SwinTransformer.forward_features``):

1. each frame is resized (bilinear) to ``img_size`` unless it already has that size (here
   ``frame_size``, which is ``img_size`` unless a config sets it: the mini tiles its 64 px frames
   at full resolution into a 128 px thumbnail);
2. the ``T = rows * rows`` frames are tiled row-major into one ``rows*S x rows*S`` image (frame 0
   top left, frame 1 to its right, ...; einops ``b (th tw c) h w -> b c (th h) (tw w)``);
3. the thumbnail is resized back to ``img_size`` (bilinear, ``align_corners=False``, no antialias):
   a 2 x 2 layout of 224 px frames shows each frame at 112 px;
4. patch embedding, plus a learned embedding per frame (``frame_pos_embed [1, T, C]``) added to
   every patch token of that frame's tile (``ape: true``);
5. Swin stages; LayerNorm; the tokens as a ``[N, C, 1, h, w]`` map for `I3DHead` (whose average
   pool is upstream's ``AdaptiveAvgPool1d`` over the tokens).

Training only (``self.training``): the cut-out of ``tall_dataset.py`` — one square of
``cutout_size`` pixels, centred at a uniform random pixel and clipped to the frame, set to -1 (in
normalised units) on every frame of the clip.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from benchmark.api import mmaction_models
from detectors.tall.swin import PatchEmbed, SwinStage

MODELS = mmaction_models()
CUTOUT_VALUE = -1.0  # tall_dataset.py writes -1 into the normalised frames


def thumbnail(x: torch.Tensor, rows: int) -> torch.Tensor:
    """Clips ``[N, 3, T, S, S]`` (``T = rows * rows``) → thumbnails ``[N, 3, rows*S, rows*S]``,
    frame ``t`` at tile (row ``t // rows``, column ``t % rows``)."""
    n, c, t, h, w = x.shape
    x = x.view(n, c, rows, t // rows, h, w).permute(0, 1, 2, 4, 3, 5)  # [N, 3, rows, S, cols, S]
    return x.reshape(n, c, rows * h, (t // rows) * w)


def cutout(x: torch.Tensor, size: int) -> torch.Tensor:
    """One ``size`` x ``size`` square per clip, at the same place on all its frames, set to -1.

    Args:
        x: normalised clips ``[N, 3, T, H, W]`` (a new tensor is returned).
    """
    n, _, _, h, w = x.shape
    out = x.clone()
    cx, cy = torch.randint(0, w, (n,)).tolist(), torch.randint(0, h, (n,)).tolist()
    for i in range(n):  # upstream: np.clip(centre -/+ size // 2, 0, side)
        x1, x2 = max(cx[i] - size // 2, 0), min(cx[i] + size // 2, w)
        y1, y2 = max(cy[i] - size // 2, 0), min(cy[i] + size // 2, h)
        out[i, :, :, y1:y2, x1:x2] = CUTOUT_VALUE
    return out


@MODELS.register_module()
class TALLSwin(BaseModule):
    """Thumbnail layout + Swin: normalised clips ``[N, 3, T, H, W]`` → ``[N, C, 1, h, w]``.

    Args:
        num_frames: frames per clip, ``thumbnail_rows ** 2`` (upstream ``clip_size``, 4).
        thumbnail_rows: tiles per side of the square layout (upstream 2).
        img_size: side of the thumbnail fed to Swin (224).
        frame_size: side of each frame before tiling; None: ``img_size``, as upstream.
        patch_size, embed_dim, depths, num_heads, window_size, mlp_ratio: Swin's (TALL: Swin-B,
            4, 128, [2, 2, 18, 2], [4, 8, 16, 32], [14, 14, 14, 7] per stage, 4.0).
        drop_path_rate: stochastic depth, rising linearly over the blocks to this value (0.1).
        frame_pos_embed: the per-frame learned embedding (upstream ``ape: true``).
        cutout_size: side of the training cut-out in pixels (upstream ``mask_grid_size`` 16);
            0 disables it.
        pretrained: an ImageNet Swin checkpoint (file or folder) that `init_weights` loads as
            upstream's ``load_pretrained`` does (`detectors.tall.imagenet`); None: random init.
        init_cfg: mmengine's init config (unused: `init_weights` is upstream's init).
    """

    def __init__(self, num_frames: int = 4, thumbnail_rows: int = 2, img_size: int = 224,
                 frame_size: int | None = None, patch_size: int = 4, embed_dim: int = 128, depths: Sequence[int] = (2, 2, 18, 2),
                 num_heads: Sequence[int] = (4, 8, 16, 32),
                 window_size: int | Sequence[int] = (14, 14, 14, 7), mlp_ratio: float = 4.0,
                 drop_path_rate: float = 0.1, frame_pos_embed: bool = True, cutout_size: int = 16,
                 pretrained: str | None = None, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        windows = [window_size] * len(depths) if isinstance(window_size, int) else list(window_size)
        _check(num_frames, thumbnail_rows, img_size, patch_size, depths, num_heads, windows)
        self.num_frames, self.rows, self.img_size = num_frames, thumbnail_rows, img_size
        self.frame_size = frame_size or img_size
        self.cutout_size, self.pretrained = cutout_size, pretrained
        self.grid = img_size // patch_size  # patch tokens per side of the thumbnail
        self.patch_embed = PatchEmbed(patch_size, 3, embed_dim)
        if frame_pos_embed:
            self.frame_pos_embed = nn.Parameter(torch.zeros(1, num_frames, embed_dim))
        else:
            self.frame_pos_embed = None
        rates = torch.linspace(0, drop_path_rate, sum(depths), device="cpu").tolist()  # as upstream
        self.layers = nn.ModuleList()
        for i, (depth, heads, window) in enumerate(zip(depths, num_heads, windows)):
            side = self.grid // 2 ** i
            self.layers.append(SwinStage(embed_dim * 2 ** i, (side, side), depth, heads, window,
                                         mlp_ratio, rates[sum(depths[:i]):sum(depths[:i + 1])],
                                         downsample=i < len(depths) - 1))
        self.num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = nn.LayerNorm(self.num_features)
        self.reset_parameters()

    def init_weights(self) -> None:
        """Upstream's initialisation, then the ImageNet weights of ``pretrained`` (if set)."""
        self.reset_parameters()
        if self.pretrained:
            from detectors.tall.imagenet import adapt_imagenet, read_imagenet

            state = adapt_imagenet(read_imagenet(self.pretrained), self.state_dict(), self.pretrained)
            self.load_state_dict(state, strict=False)  # the rest is checked by adapt_imagenet

    def reset_parameters(self) -> None:
        """Truncated normal (std 0.02) for linear weights and the embeddings, zero biases, unit
        LayerNorms (upstream's ``_init_weights``)."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if self.frame_pos_embed is not None:
            nn.init.trunc_normal_(self.frame_pos_embed, std=0.02)

    def layout(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised clips ``[N, 3, T, H, W]`` → the thumbnail Swin sees ``[N, 3, S, S]``."""
        n, c, t, h, w = x.shape
        if t != self.num_frames:
            raise ValueError(f"TALLSwin: clips have {t} frames, the layout needs {self.num_frames}")
        side = self.frame_size
        if (h, w) != (side, side):
            frames = x.permute(0, 2, 1, 3, 4).reshape(n * t, c, h, w)
            frames = F.interpolate(frames, size=side, mode="bilinear")
            x = frames.view(n, t, c, side, side).permute(0, 2, 1, 3, 4)
        image = thumbnail(x, self.rows)  # [N, 3, rows*side, rows*side]
        if image.shape[-1] == self.img_size:  # the resize below would be the identity
            return image
        return F.interpolate(image, size=self.img_size, mode="bilinear")

    def frame_embedding(self) -> torch.Tensor:
        """``[S/p * S/p, C]``: frame t's embedding on every patch token of its tile."""
        tile = self.grid // self.rows
        pe = self.frame_pos_embed[0].view(self.rows, self.rows, -1)  # [rows, cols, C]
        pe = pe.repeat_interleave(tile, dim=0).repeat_interleave(tile, dim=1)  # [grid, grid, C]
        return pe.reshape(self.grid * self.grid, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.cutout_size:
            x = cutout(x, self.cutout_size)
        tokens = self.patch_embed(self.layout(x))  # [N, grid*grid, C]
        if self.frame_pos_embed is not None:
            tokens = tokens + self.frame_embedding()
        for stage in self.layers:
            tokens = stage(tokens)
        tokens = self.norm(tokens)  # [N, h*w, C']
        side = int(round(tokens.shape[1] ** 0.5))
        return tokens.transpose(1, 2).reshape(len(tokens), -1, 1, side, side)  # [N, C', 1, h, w]


def _check(frames: int, rows: int, img_size: int, patch: int, depths, heads, windows) -> None:
    """Refuses a layout or Swin shape that upstream would build wrongly or not at all."""
    where = "TALLSwin"
    if rows < 1 or rows * rows != frames:
        raise ValueError(f"{where}: num_frames={frames} must be thumbnail_rows**2 "
                         f"(thumbnail_rows={rows}); upstream requires a square clip_size")
    if not len(depths) == len(heads) == len(windows):
        raise ValueError(f"{where}: depths {list(depths)}, num_heads {list(heads)} and "
                         f"window_size {windows} must have one entry per stage")
    grid = img_size // patch
    if img_size % patch or grid % rows or grid % 2 ** (len(depths) - 1):
        raise ValueError(f"{where}: img_size={img_size} / patch_size={patch} = {grid} patches per "
                         f"side must divide by thumbnail_rows={rows} and by "
                         f"2**{len(depths) - 1} (one halving per patch merge)")
    for i, window in enumerate(windows):
        side = grid // 2 ** i
        if side > window and side % window:
            raise ValueError(f"{where}: stage {i} is {side}x{side} tokens, not a multiple of "
                             f"window_size {window}")
