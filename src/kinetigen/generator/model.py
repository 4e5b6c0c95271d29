"""The generator: an MLP from latent noise (and a steady-state condition) to bounded ln Km.

The output is ``lo + (hi - lo) * (1 + tanh(h)) / 2`` per parameter, so every generated value
lies inside its own configured bounds whatever the weights are. In ``output_space
"saturation"`` the interval is the model's own steady state's: ln Km = ln x - logit(s) with x
the concentration of the parameter's metabolite and the saturation s = x / (x + Km) within
``saturation_range``, i.e. ``[lo, hi] = [ln x - logit(s_high), ln x - logit(s_low)]`` clamped
into the Km bounds (so a measured Km keeps its value or range). There is deliberately no
batch-wide rescaling (RENAISSANCE min-max rescales every batch onto [-25, 3], which makes each
batch touch both bounds and couples the models of one batch).

Evolution strategies search over the flat weight vector; :func:`forward_population` runs a
whole population of weight vectors in one batched pass (``torch.func.functional_call`` under
``torch.func.vmap``), without a Python loop over members.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from kinetigen.schema import check_value, config_error

OUTPUT_SPACES = ("ln_km", "saturation")

ACTIVATIONS = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
}


class Generator(nn.Module):
    """MLP generator ``(z [B, L], c [B, C]) -> ln Km [B, P]`` bounded into ``[lower, upper]``.

    Parameters
    ----------
    lower, upper
        Per-parameter bounds on ln Km, shape [P] (ln of mol/L). ``lower <= upper``
        elementwise; where they are equal (a measured Km) the output is that constant.
    latent_dim
        Size L of the standard-normal latent vector z.
    condition_dim
        Size C of the condition vector; 0 makes an unconditional generator.
    hidden
        Widths of the hidden layers.
    conditioning
        ``"concat"``: c is concatenated to z at the input. ``"film"``: every hidden layer is
        modulated as ``h * (1 + gamma(c)) + beta(c)``; the FiLM layers start at zero, so the
        untrained generator ignores c and learns how much to use it.
    activation
        Hidden activation, one of ``ACTIVATIONS``.
    seed
        Seeds the weight initialisation (PyTorch's default uniform +-1/sqrt(fan_in) scheme,
        drawn from a private generator so the global torch RNG is untouched).
    output_init_scale
        Multiplies the initial weights of the output layer: small values start the search
        with ln Km near the middle of the bounds, where tanh is not saturated.
    dtype
        Parameter dtype; float64 by default to match the Jacobian evaluation.
    output_space
        ``"ln_km"``: the output is mapped into ``[lower, upper]``. ``"saturation"``: into the
        ln Km whose saturations at the model's steady state lie in ``saturation_range``
        (within ``[lower, upper]``); the forward pass then needs ln x (module docstring).
    saturation_range
        ``(s_low, s_high)`` with ``0 < s_low < s_high < 1`` (``output_space "saturation"``).
    """

    def __init__(
        self,
        lower: Tensor | Sequence[float],
        upper: Tensor | Sequence[float],
        latent_dim: int = 16,
        condition_dim: int = 0,
        hidden: Sequence[int] = (64, 64),
        conditioning: str = "concat",
        activation: str = "tanh",
        seed: int = 0,
        output_init_scale: float = 1.0,
        dtype: torch.dtype = torch.float64,
        output_space: str = "ln_km",
        saturation_range: Sequence[float] = (0.01, 0.99),
    ) -> None:
        super().__init__()
        lower = torch.as_tensor(lower, dtype=dtype).flatten()
        upper = torch.as_tensor(upper, dtype=dtype).flatten()
        if lower.shape != upper.shape:
            raise ValueError(
                f"generator bounds: lower has {lower.numel()} entries, upper {upper.numel()}"
            )
        if not bool(torch.all(torch.isfinite(lower) & torch.isfinite(upper))):
            raise ValueError("generator bounds must be finite")
        bad = torch.nonzero(lower > upper).flatten()
        if bad.numel():
            raise ValueError(
                f"generator bounds: lower > upper for parameter index(es) {bad.tolist()[:10]}"
            )
        check_value("generator.latent_dim", latent_dim)
        check_value("generator.condition_dim", condition_dim)
        check_value("generator.conditioning", conditioning)
        if activation not in ACTIVATIONS:  # more than the config offers
            raise config_error(
                "generator.activation",
                f"must be one of {sorted(ACTIVATIONS)}, got {activation!r}",
            )
        hidden = [int(width) for width in hidden]
        check_value("generator.hidden", hidden)
        check_value("generator.output_space", output_space)
        self.saturation_range = saturation_interval(saturation_range)
        self.output_space = output_space

        self.n_params = int(lower.numel())
        self.latent_dim = int(latent_dim)
        self.condition_dim = int(condition_dim)
        self.hidden = tuple(hidden)
        self.conditioning = conditioning
        self.activation_name = activation
        self.seed = int(seed)
        self.output_init_scale = float(output_init_scale)
        self.register_buffer("lower", lower.clone())
        self.register_buffer("upper", upper.clone())

        uses_concat = conditioning == "concat"
        in_width = self.latent_dim + (self.condition_dim if uses_concat else 0)
        self.layers = nn.ModuleList()
        for width in hidden:
            self.layers.append(nn.Linear(in_width, width, dtype=dtype))
            in_width = width
        self.output = nn.Linear(in_width, self.n_params, dtype=dtype)
        self.act = ACTIVATIONS[activation]()
        self.film = nn.ModuleList()
        if conditioning == "film" and self.condition_dim > 0:
            for width in hidden:
                self.film.append(nn.Linear(self.condition_dim, 2 * width, dtype=dtype))
        self.reset_parameters(seed)

    def reset_parameters(self, seed: int) -> None:
        """Re-draw all weights from ``seed`` (uniform +-1/sqrt(fan_in), FiLM layers at zero)."""
        rng = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            for layer in [*self.layers, self.output]:
                bound = 1.0 / math.sqrt(layer.in_features)
                for tensor in (layer.weight, layer.bias):
                    noise = torch.rand(tensor.shape, generator=rng, dtype=tensor.dtype)
                    tensor.copy_((2.0 * noise - 1.0) * bound)
            self.output.weight.mul_(self.output_init_scale)
            self.output.bias.mul_(self.output_init_scale)
            for layer in self.film:
                layer.weight.zero_()
                layer.bias.zero_()

    def architecture(self) -> dict[str, Any]:
        """Constructor arguments (bounds as lists) that rebuild this generator."""
        return {
            "lower": self.lower.tolist(),
            "upper": self.upper.tolist(),
            "latent_dim": self.latent_dim,
            "condition_dim": self.condition_dim,
            "hidden": list(self.hidden),
            "conditioning": self.conditioning,
            "activation": self.activation_name,
            "seed": self.seed,
            "output_init_scale": self.output_init_scale,
            "dtype": str(self.lower.dtype).removeprefix("torch."),
            "output_space": self.output_space,
            "saturation_range": list(self.saturation_range),
        }

    @classmethod
    def from_architecture(cls, architecture: dict[str, Any]) -> Generator:
        """Inverse of :meth:`architecture`."""
        arguments = dict(architecture)
        arguments["dtype"] = getattr(torch, arguments.get("dtype", "float64"))
        return cls(**arguments)

    @property
    def n_weights(self) -> int:
        """Length D of the flat weight vector that evolution strategies search over."""
        return sum(p.numel() for p in self.parameters())

    @property
    def needs_concentrations(self) -> bool:
        """Whether the forward pass reads ln x (``output_space "saturation"``)."""
        return self.output_space == "saturation"

    def forward(self, z: Tensor, c: Tensor | None = None, ln_x: Tensor | None = None) -> Tensor:
        """ln Km [B, P] for latent z [B, L], condition c [B, C] (None if unconditional) and,
        in ``output_space "saturation"``, ln x [B, P] (ln mol/L of each parameter's
        metabolite at the model's steady state; NaN where the model lacks the parameter)."""
        if z.shape[-1] != self.latent_dim:
            raise ValueError(
                f"latent z has width {z.shape[-1]}, generator expects {self.latent_dim}"
            )
        if self.condition_dim > 0:
            if c is None:
                raise ValueError("this generator is conditional: pass a condition vector c")
            if c.shape[-1] != self.condition_dim:
                raise ValueError(
                    f"condition c has width {c.shape[-1]}, generator expects {self.condition_dim}"
                )
        hidden = z
        if self.condition_dim > 0 and self.conditioning == "concat":
            hidden = torch.cat([z, c], dim=-1)
        for index, layer in enumerate(self.layers):
            hidden = self.act(layer(hidden))
            if self.film:
                gamma, beta = self.film[index](c).chunk(2, dim=-1)
                hidden = hidden * (1.0 + gamma) + beta
        lower, upper = self.output_bounds(ln_x)
        squashed = torch.tanh(self.output(hidden))
        ln_km = lower + 0.5 * (upper - lower) * (1.0 + squashed)
        # Rounding in lower + width can overshoot a bound by one ulp; clamp keeps it closed.
        return torch.clamp(ln_km, min=lower, max=upper)

    def output_bounds(self, ln_x: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The interval each output is mapped into: ``(lower, upper)`` [P] in ``"ln_km"``
        space, [B, P] from ln x [B, P] in ``"saturation"`` space (where ln x is NaN, the
        model lacks the parameter and its value is unused: the Km bounds)."""
        if not self.needs_concentrations:
            return self.lower, self.upper
        if ln_x is None:
            raise ValueError(
                "generator.output_space 'saturation' needs ln x (the steady state's ln "
                "concentrations of the parameters' metabolites)"
            )
        if ln_x.shape[-1] != self.n_params:
            raise ValueError(f"ln x has width {ln_x.shape[-1]}, generator has {self.n_params}")
        s_low, s_high = self.saturation_range
        # ln(Km / x) = -logit(s): the highest saturation gives the smallest Km.
        low = ln_x - math.log(s_high / (1.0 - s_high))
        high = ln_x - math.log(s_low / (1.0 - s_low))
        present = torch.isfinite(ln_x)
        low = torch.where(present, torch.clamp(low, min=self.lower, max=self.upper), self.lower)
        high = torch.where(present, torch.clamp(high, min=self.lower, max=self.upper), self.upper)
        return low, high

    @torch.no_grad()
    def sample(
        self,
        n_models: int,
        conditions: Tensor | None = None,
        generator: torch.Generator | None = None,
        ln_x: Tensor | None = None,
    ) -> Tensor:
        """Draw ``n_models`` ln Km sets [n, P] with z ~ N(0, I); ``conditions`` is [n, C],
        ``ln_x`` [n, P] (``output_space "saturation"``, see :meth:`forward`)."""
        z = torch.randn(n_models, self.latent_dim, generator=generator, dtype=self.lower.dtype)
        return self(z, conditions, ln_x)


def saturation_interval(saturation_range: Sequence[float]) -> tuple[float, float]:
    """``(s_low, s_high)`` checked: ``0 < s_low < s_high < 1``."""
    low, high = (float(value) for value in saturation_range)
    if not 0.0 < low < high < 1.0:
        raise config_error(
            "generator.saturation_range", f"needs 0 < low < high < 1, got [{low}, {high}]"
        )
    return low, high


def parameter_shapes(module: nn.Module) -> list[tuple[str, torch.Size]]:
    """Names and shapes of the module's parameters in the flat-vector order."""
    return [(name, param.shape) for name, param in module.named_parameters()]


def flatten_parameters(module: nn.Module) -> Tensor:
    """The module's parameters as one flat vector [D] (a detached copy)."""
    return torch.cat([param.detach().reshape(-1) for param in module.parameters()]).clone()


def unflatten_parameters(module: nn.Module, flat: Tensor) -> dict[str, Tensor]:
    """Split flat weights [..., D] into ``{name: tensor [..., *shape]}`` (views, no copies)."""
    shapes = parameter_shapes(module)
    n_weights = sum(math.prod(shape) for _, shape in shapes)
    if flat.shape[-1] != n_weights:
        raise ValueError(f"flat weight vector has length {flat.shape[-1]}, module has {n_weights}")
    leading = flat.shape[:-1]
    params: dict[str, Tensor] = {}
    offset = 0
    for name, shape in shapes:
        size = math.prod(shape)
        params[name] = flat[..., offset : offset + size].reshape(*leading, *shape)
        offset += size
    return params


def load_flat_parameters(module: nn.Module, flat: Tensor) -> None:
    """Copy flat weights [D] into the module's parameters in place."""
    params = unflatten_parameters(module, flat.reshape(-1))
    with torch.no_grad():
        for name, param in module.named_parameters():
            param.copy_(params[name])


def forward_population(
    generator: Generator,
    weights: Tensor,
    z: Tensor,
    c: Tensor | None = None,
    ln_x: Tensor | None = None,
) -> Tensor:
    """Evaluate a population of flat weight vectors [pop, D] on one batch: -> [pop, B, P].

    All members see the same z [B, L], c [B, C] and ln x [B, P] (``output_space
    "saturation"``; common random numbers). One vmapped
    ``functional_call``: the per-layer matrix products become batched products over members.
    """
    if weights.ndim != 2:
        raise ValueError(f"population weights must be [pop, D], got shape {tuple(weights.shape)}")
    params = unflatten_parameters(generator, weights)
    buffers = dict(generator.named_buffers())

    def one_member(member_params: dict[str, Tensor]) -> Tensor:
        return functional_call(generator, {**member_params, **buffers}, (z, c, ln_x))

    with torch.no_grad():
        return vmap(one_member)(params)
