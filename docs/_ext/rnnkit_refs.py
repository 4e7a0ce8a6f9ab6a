"""Sphinx extension: every reference to an rnnkit object in a docstring resolves, or the build fails.

Docstrings name objects the way their module imports them (``History`` inside
rnnkit.training.trainer, ``rnnkit.layers.GRU`` for a class defined in rnnkit.layers.gru).
Each object is documented once, in the module that defines it; a reference that Sphinx
cannot find as written is looked up by importing it, and points at that definition. A
module-level constant points at its module's page. What still resolves to nothing stays a
warning, which ``-W`` makes an error.
"""
import importlib
import inspect


MISSING = object()


def _find(path, module=None, cls=None):
    """``(object, its owner, its name)`` for a dotted name, tried as written, then inside the
    class and the module the reference was written in; ``MISSING`` if nothing is there."""
    bases = [path] + ([f"{module}.{cls}.{path}"] if module and cls else []) + \
        ([f"{module}.{path}"] if module else [])
    for full in bases:
        parts = full.split(".")
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            owner, name = obj, None
            try:
                for name in parts[i:]:
                    owner, obj = obj, getattr(obj, name)
            except AttributeError:
                break
            return obj, owner, name
    return MISSING, None, None


def _private(dotted):
    """``rnnkit._io.x``: a name with a part that starts with ``_`` is not documented on purpose."""
    return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))


def canonical(obj, owner, name=None):
    """Where ``obj`` is defined (``module.Qual.name``): a class's attribute or method in the class
    of the MRO that defines it; None for a module's constant, which has no name of its own."""
    if inspect.isclass(owner) and name is not None:
        for klass in owner.__mro__:
            if name in vars(klass):
                return f"{klass.__module__}.{klass.__qualname__}.{name}"
    if inspect.ismodule(obj):
        return obj.__name__
    module, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(qual, str) and "<" not in qual:
        return f"{module}.{qual}"
    return None


def _missing_reference(app, env, node, contnode):
    """A reference as the docstring's module would import it, pointed at the definition."""
    if node.get("refdomain") != "py" or node.get("_rnnkit_retry"):
        return None
    target = node["reftarget"].lstrip("~.")
    if not target.startswith("rnnkit") and not (node.get("py:module") or "").startswith("rnnkit"):
        return None
    obj, owner, name = _find(target, node.get("py:module"), node.get("py:class"))
    if obj is MISSING:
        return None
    full = canonical(obj, owner, name)
    role = node["reftype"]
    if full is None:              # a constant: point at the module that holds it
        full, role = getattr(owner, "__name__", None), "mod"
        if not full:
            return None
    if not full.startswith("rnnkit") or _private(full):
        return contnode                # another project's object, or a private one of rnnkit (no page)
    if full == target and role == node["reftype"]:
        return None
    node["_rnnkit_retry"] = True
    domain = env.get_domain("py")
    for r in (role, "obj"):
        found = domain.resolve_xref(env, node["refdoc"], app.builder, r, full, node, contnode)
        if found is not None:
            return found
    return None


def _unique_suffix(app, env, node, contnode):
    """``Streamer`` where the docstring's module does not import it: the one documented object
    whose name ends with it, if there is exactly one."""
    if node.get("refdomain") != "py" or not (node.get("py:module") or "").startswith("rnnkit"):
        return None
    domain = env.get_domain("py")
    name = node["reftarget"].lstrip("~.")
    matches = [full for full in domain.objects if full.endswith("." + name) and full.startswith("rnnkit")]
    if len(matches) != 1:
        return None
    return domain.resolve_xref(env, node["refdoc"], app.builder, "obj", matches[0], node, contnode)


def _skip_member(app, what, name, obj, skip, options):
    """Module-level constants are described in their module's docstring, not one by one."""
    if what == "module" and not (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj)):
        return True
    return None



def setup(app):
    app.connect("missing-reference", _missing_reference)
    app.connect("missing-reference", _unique_suffix)
    app.connect("autodoc-skip-member", _skip_member)
    return {"parallel_read_safe": True}
