"""The model zoo: which architectures exist and how a state_dict tells them apart.

Adding a family means one entry in FAMILIES and one detection rule in `_family_of`.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeseg.errors import EdgesegError, OptionError, field

VARIANTS = ("s2fpn18", "s2fpn34", "s2fpn34m", "spfnet18", "spfnet34")


def _classes():
    from edgeseg.models.s2fpn import S2FPN
    from edgeseg.models.s2fpn_v1 import S2FPNv1
    from edgeseg.models.spfnet import SPFNet

    return {"current": S2FPN, "v1": S2FPNv1, "spfnet": SPFNet}


# generation -> (key that identifies it, key whose first dim is the class count)
FAMILIES = {
    "spfnet": ("spfm.out.conv.weight", "classifier.fc.conv.weight"),
    "current": ("seghead.fc.conv.weight", "seghead.fc.conv.weight"),
    "v1": ("apf1.sa.conv_sh.weight", "classifier.fc.conv.weight"),
}
# Keys the official v1 builds for ResNet-50+ only; present, unused, in its ResNet-18/34 checkpoints.
UNUSED_PREFIXES = {"v1": ("down2.", "down3.", "down4.", "down5.")}


@dataclass(frozen=True)
class Arch:
    generation: str  # "current", "v1" or "spfnet"
    depth: int  # 18 or 34
    classes: int
    resnet34m: bool = False

    @property
    def family(self) -> str:
        return "spfnet" if self.generation == "spfnet" else "s2fpn"

    @property
    def encoder(self) -> str:
        return f"resnet{self.depth}" + ("m" if self.resnet34m else "")

    @property
    def variant(self) -> str:
        base = f"{self.family}{self.depth}" + ("m" if self.resnet34m else "")
        return base + ("v1" if self.generation == "v1" else "")

    def build(self):
        return _classes()[self.generation](self.depth, self.classes, self.resnet34m)

    def to_dict(self) -> dict:
        return {"family": self.family, "generation": self.generation, "encoder": self.encoder,
                "variant": self.variant, "classes": self.classes}


def _family_of(keys) -> str | None:
    for generation, (marker, _) in FAMILIES.items():
        if marker in keys:
            return generation
    return None


def detect(state_dict: dict, variant: str | None = None) -> Arch:
    """Read generation, encoder depth and class count from the keys and shapes."""
    keys = set(state_dict)
    generation = _family_of(keys)
    if generation is None:
        sample = ", ".join(sorted(keys)[:4])
        raise EdgesegError(
            f"not an S²-FPN or SPFNet checkpoint: none of {', '.join(m for m, _ in FAMILIES.values())} "
            f"among its {len(keys)} keys (first: {sample})")
    if any(k.startswith("conv2_x.") and k.endswith(".conv3.weight") for k in keys):
        raise EdgesegError("checkpoint has a ResNet-50+ (bottleneck) encoder; edgeseg supports ResNet-18/34/34M")
    depth = 34 if "conv2_x.2.conv1.weight" in keys else 18
    classifier = FAMILIES[generation][1]
    shape = tuple(state_dict[classifier].shape)
    if len(shape) != 4 or shape[0] < 1:
        raise EdgesegError(f"{classifier} has shape {shape}; a classifier convolution's weight is "
                           "(classes, channels, 1, 1): the checkpoint is damaged or not this model")
    classes = int(shape[0])
    resnet34m = False
    if variant is not None:
        variant = variant.lower()
        if variant not in VARIANTS:
            raise EdgesegError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
        want_family = "spfnet" if variant.startswith("spfnet") else "s2fpn"
        want_depth = 34 if "34" in variant else 18
        found = Arch(generation, depth, classes)
        if want_family != found.family or want_depth != depth:
            raise OptionError(
                f"{field('variant')} {variant} does not match the checkpoint, which holds a {found.family} with a "
                f"ResNet-{depth} encoder")
        resnet34m = variant.endswith("m")
    return Arch(generation, depth, classes, resnet34m)


def unused_keys(arch: Arch, keys) -> list[str]:
    prefixes = UNUSED_PREFIXES.get(arch.generation, ())
    return [k for k in keys if k.startswith(prefixes)]
