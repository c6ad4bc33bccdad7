"""Each component checks its own keys: every `_target_` node of a composed config, before any work.

For each node the walker checks the values against the target's annotated parameter types (a non-integer width
is refused by the net's own signature), then calls the target's `check(args, cfg)` when it has one: a classmethod
beside the class, or a function attached with `@checked_by` to a source function. A check raises `ConfigError`
naming its own argument; the walker reports the key the user typed (`model.width`, not `model.generator.width`).
"""
import inspect

import hydra.utils
from omegaconf import DictConfig, OmegaConf

from gan_runner.errors import UserError


class ConfigError(ValueError):
    """A component's argument `arg` is out of range: `message` says what it must be."""

    def __init__(self, arg: str, message: str):
        super().__init__(message)
        self.arg, self.message = arg, message


def checked_by(check):
    """Attach `check(args, cfg)` to a function target (a data source)."""
    def attach(target):
        target.check = check
        return target

    return attach


def positive(args: dict, *names: str) -> None:
    """Each named argument, when given, must be > 0."""
    for name in names:
        if name in args and args[name] is not None and not args[name] > 0:
            raise ConfigError(name, "must be > 0")


def non_negative(args: dict, *names: str) -> None:
    for name in names:
        if name in args and args[name] is not None and not args[name] >= 0:
            raise ConfigError(name, "must be >= 0")


def _target_nodes(node, path: str = ""):
    if isinstance(node, DictConfig):
        if "_target_" in node:
            yield path, node
        for key in node:
            if not OmegaConf.is_interpolation(node, key) and isinstance(node[key], DictConfig):
                yield from _target_nodes(node[key], f"{path}{key}.")


def _user_key(node: DictConfig, path: str, arg: str) -> str:
    """The key behind an argument: `model.width` for `model.generator.width: ${model.width}`."""
    if OmegaConf.is_interpolation(node, arg):
        text = node._get_node(arg)._value()
        inner = text[2:-1] if text.startswith("${") and text.endswith("}") else ""
        if inner and ":" not in inner and not inner.startswith("."):
            return inner
        if inner.startswith(".."):  # ${..image_size}: a sibling of the node's parent
            return f"{path.rstrip('.').rsplit('.', 1)[0]}.{inner[2:]}" if "." in path.rstrip(".") else inner[2:]
    return f"{path}{arg}"


_TYPES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _type_ok(value, kind) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_components(cfg: DictConfig) -> None:
    for path, node in _target_nodes(cfg):
        target = hydra.utils.get_object(node._target_)
        args = {k: v for k, v in OmegaConf.to_container(node, resolve=True).items() if not k.startswith("_")}
        try:
            parameters = inspect.signature(target).parameters
        except (TypeError, ValueError):
            parameters = {}
        for name, value in args.items():
            kind = parameters[name].annotation if name in parameters else None
            if kind in _TYPES and value is not None and not _type_ok(value, kind):
                raise UserError(f"{_user_key(node, path, name)}={value!r} must be {_TYPES[kind]}")
        check = getattr(target, "check", None)
        if check is None:
            continue
        try:
            check(args, cfg)
        except ConfigError as exc:
            raise UserError(f"{_user_key(node, path, exc.arg)}={args.get(exc.arg)!r} {exc.message}") from None
