"""The registry: one ``Activation`` record per function, from which everything is built.

A record holds the function's math (its scalar or row kernels), its parameters, what its
backward pass saves, and a float64 NumPy reference. ``fastact`` builds the four public
forms of each function from its record; tests and benchmarks iterate over the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

ELEMENTWISE = "elementwise"
ROWWISE = "rowwise"
HALVES = "halves"  # glu: the two halves of x along ``axis`` in, one half-size result out

# The public forms by suffix, in catalogue order; the in-place ones only where
# ``Activation.in_place`` (a result of the input's shape).
FORM_SUFFIXES = {"forward": "", "forward_": "_", "backward": "_backward", "backward_": "_backward_"}

REQUIRED = object()  # default of a parameter that has none, e.g. threshold(x, threshold, value)


NUMERIC = "numeric"
CHOICE = "choice"
ARRAY = "array"


@dataclass(frozen=True)
class Param:
    """A parameter of one of three kinds (``kind``):

    - numeric (``negative_slope``, ``beta``, ...): passed to the kernels, rounded to the
      compute dtype;
    - choice, with ``choices``: one string among a few (``gelu``'s ``approximate``) that
      picks the kernels once per call;
    - array, with ``axis``: a 1-D array holding one value per index along ``axis`` of
      ``x`` (a per-channel value: ``prelu``'s ``weight`` along axis 1, the fused ``bias``
      along the last axis). The scalar kernels take the element's value in its place; the
      drivers (``drivers.cpu``, ``drivers.cuda``) broadcast it and reduce its gradient,
      the sum over every other axis of ``grad_kernel(grad, saved, value, grad_input)``
      (``None``: ``grad_input`` itself, as for a bias), in float64, in the same pass as
      the backward. ``sizes`` lists the lengths it may have besides ``x.shape[axis]``
      (``prelu``: 1, one value for every channel).
    """

    name: str
    default: float | str | None = REQUIRED  # type: ignore[assignment]
    choices: tuple[str, ...] | None = None
    axis: int | None = None
    grad_kernel: Callable | None = field(default=None, compare=False)
    sizes: tuple[int, ...] = ()

    @property
    def kind(self) -> str:
        return ARRAY if self.axis is not None else CHOICE if self.choices else NUMERIC

    @property
    def is_choice(self) -> bool:
        return self.choices is not None

    @property
    def is_array(self) -> bool:
        return self.axis is not None


BIAS = Param("bias", None, axis=-1)
"""The fused bias every elementwise function without an array parameter takes
(SPEC §2.3): ``F(x, bias=b)`` is ``F(x + b)``, ``b`` along the last axis."""


@dataclass(eq=False)
class Activation:
    """One activation function: its definition and, once built, its four public forms.

    For ``kind == ELEMENTWISE`` the kernels are scalar functions
    ``forward(x, *params) -> y`` and ``backward(grad, saved, *params) -> dx``.
    For ``kind == ROWWISE`` (the softmax family) they work on one contiguous row:
    ``forward(x, out, *params)`` and ``backward(grad, saved, out, *params)``; these
    functions also take ``axis``. Their optional ``block_kernels`` take the same arguments
    as C-contiguous 2-D blocks of rows; the CPU drivers call them instead of looping over
    the row kernels, so that they can work across short rows.

    An elementwise function may have one array parameter (``prelu``'s ``weight``), its
    first: its kernels take the element's value from it in its place, and its backward
    forms return ``(grad_input, grad_param)``. Elementwise functions without one take the
    fused ``bias=`` (``BIAS``, ``takes_bias``) instead.

    A function with a choice parameter (at most one) has one kernel per choice:
    ``forward_kernel`` and ``backward_kernel`` are then dicts keyed by the choice, and
    ``kernel(direction, variant)`` picks one; numeric parameters follow in ``params`` order.

    For ``kind == HALVES`` (glu) the kernels are scalar functions of the two halves of ``x``
    along ``axis``: ``forward(a, b, *params) -> y`` and
    ``backward(grad, a, b, *params) -> (da, db)``; these functions also take ``axis``, their
    result has half the input's length along it, so they have no in-place forms
    (``in_place=False``: ``forms`` lists the forms that exist, and only those are built).
    Their optional ``common_kernels`` give, per direction, a cheaper kernel exact for
    common arguments and a predicate of the same arguments saying where the full kernel is
    needed (glu: the far tail, infinities); the CPU drivers run the common kernel over a
    block and rerun the full one on the block if the predicate holds anywhere in it.

    ``saves`` says what the backward pass takes as ``saved``: ``"input"`` (the forward's
    ``x``) or ``"output"`` (the forward's ``y``). ``check(*params, dtype=)`` returns an
    error message for parameters that make no sense (as rounded to the compute ``dtype``,
    float64 by default), or ``None``. ``reference`` and
    ``reference_backward`` are float64 NumPy implementations with the same signatures as
    the public forms (without ``out``/``target``): the test oracle. ``exact`` marks
    piecewise-linear functions, whose results are exactly rounded. ``row_family`` places a
    member of the softmax family as ``(sign, log)``: ``F(x) = softmax(sign * x)``, its log
    if ``log``; the GPU's cooperative row kernels are generated from it. ``takes_where``
    marks row-wise functions with masked rows (SPEC §2.4): their public forms take
    ``where=`` and their block kernels a last argument ``where``, None or ``(mask, midx)``
    (the mask's distinct rows, 2-D, and the index of each block row's mask row).
    """

    name: str
    kind: str
    forward_kernel: Callable
    backward_kernel: Callable
    saves: str
    reference: Callable
    reference_backward: Callable
    params: tuple[Param, ...] = ()
    check: Callable[..., str | None] | None = None
    exact: bool = False
    row_family: tuple[int, bool] | None = None
    block_kernels: tuple[Callable | None, Callable | None] = (None, None)
    # HALVES only: per direction, None or (common kernel, needs_full predicate): see below.
    common_kernels: tuple[tuple | None, tuple | None] = (None, None)
    takes_where: bool = False
    in_place: bool = True
    summary: str = ""
    # The public forms, attached by fastact when it builds them from this record.
    forward: Callable = field(default=None, repr=False)  # type: ignore[assignment]
    forward_: Callable = field(default=None, repr=False)  # type: ignore[assignment]
    backward: Callable = field(default=None, repr=False)  # type: ignore[assignment]
    backward_: Callable = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self):
        if self.kind not in (ELEMENTWISE, ROWWISE, HALVES):
            kinds = f"{ELEMENTWISE!r}, {ROWWISE!r} or {HALVES!r}"
            raise ValueError(f"{self.name}: kind must be {kinds}")
        if self.kind == HALVES and self.in_place:
            raise ValueError(f"{self.name}: a result of another shape has no in-place forms")
        if self.saves not in ("input", "output"):
            raise ValueError(f"{self.name}: saves must be 'input' or 'output'")
        if (self.row_family is not None) != (self.kind == ROWWISE):
            raise ValueError(f"{self.name}: row-wise functions, and only they, need row_family")
        if self.takes_where and (self.kind != ROWWISE or None in self.block_kernels):
            raise ValueError(f"{self.name}: where= needs a row-wise function's block kernels")
        if self.kind != HALVES and self.common_kernels != (None, None):
            raise ValueError(f"{self.name}: only functions of kind halves have common_kernels")
        if self.kind != ROWWISE and self.block_kernels != (None, None):
            raise ValueError(f"{self.name}: only row-wise functions have block_kernels")
        arrays = [p for p in self.params if p.is_array]
        first = self.params[:1] == tuple(arrays[:1])
        if arrays and (len(arrays) > 1 or self.kind != ELEMENTWISE or not first):
            raise ValueError(f"{self.name}: one array parameter, first, of an elementwise function")
        choices = [p for p in self.params if p.is_choice]
        if len(choices) > 1:
            raise ValueError(f"{self.name}: at most one choice parameter")
        for k in (self.forward_kernel, self.backward_kernel):
            if isinstance(k, dict) != bool(choices) or (
                choices and set(k) != set(choices[0].choices)
            ):
                raise ValueError(f"{self.name}: one kernel per choice of a choice parameter")

    @property
    def choice(self) -> Param | None:
        """The choice parameter, if the function has one."""
        return next((p for p in self.params if p.is_choice), None)

    @cached_property
    def array_param(self) -> Param | None:
        """The array parameter (``prelu``'s ``weight``), if the function has one."""
        return next((p for p in self.params if p.is_array), None)

    @cached_property
    def takes_bias(self) -> bool:
        """Whether the public forms take ``bias=`` (SPEC §2.3): elementwise functions
        without an array parameter of their own."""
        return self.kind == ELEMENTWISE and self.array_param is None

    @property
    def variants(self) -> tuple:
        """The choices of the choice parameter, or ``(None,)``: one compiled driver each."""
        c = self.choice
        return c.choices if c is not None else (None,)

    def kernel(self, direction: str, variant=None) -> Callable:
        """The scalar (or row) kernel of ``direction`` for the choice ``variant``."""
        k = self.forward_kernel if direction == "forward" else self.backward_kernel
        return k[variant] if isinstance(k, dict) else k

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def takes_axis(self) -> bool:
        """Whether the public forms take ``axis`` (after the other parameters)."""
        return self.kind in (ROWWISE, HALVES)

    @property
    def form_kinds(self) -> tuple[str, ...]:
        """The forms this function has, of ``FORM_SUFFIXES``: the four, or without the
        in-place ones."""
        return tuple(k for k in FORM_SUFFIXES if self.in_place or not k.endswith("_"))

    @property
    def forms(self) -> dict[str, Callable]:
        """The public forms that exist (see ``form_kinds``) by their public names."""
        return {self.name + FORM_SUFFIXES[k]: getattr(self, k) for k in self.form_kinds}


_REGISTRY: dict[str, Activation] = {}
REGISTRY = MappingProxyType(_REGISTRY)
"""Every activation, by name, in definition order (read-only)."""


def register(activation: Activation) -> Activation:
    if activation.name in _REGISTRY:
        raise ValueError(f"activation {activation.name!r} is registered twice")
    _REGISTRY[activation.name] = activation
    return activation
