"""{% url %} is replaced by a tag that reverses each pattern once (o2c.core.templatetags.urls):
it must give exactly what Django's reverse() gives, for every URL of the project."""

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse


def _int_patterns(resolver=None, namespace=""):
    """(view name, number of int arguments) of every named URL whose arguments are all ints."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _int_patterns(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            converters = entry.pattern.converters
            if entry.pattern.regex.groups == len(converters) and all(
                type(c).__name__ == "IntConverter" for c in converters.values()
            ):
                yield f"{namespace}{entry.name}", len(converters)


def _render(source: str, **context) -> str:
    return Template(source).render(Context(context))


def test_every_int_url_of_the_project_renders_as_reverse_does():
    names = sorted(set(_int_patterns()))
    assert len(names) > 50  # the walk found the project's URLs
    for name, count in names:
        args = [7 * (n + 1) for n in range(count)]
        tag = "{% url view " + " ".join(f"a{n}" for n in range(count)) + " %}"
        rendered = _render(tag, view=name, **{f"a{n}": a for n, a in enumerate(args)})
        assert rendered == reverse(name, args=args), name
        assert _render(tag, view=name, **{f"a{n}": a + 1000 for n, a in enumerate(args)}) == reverse(
            name, args=[a + 1000 for a in args]
        ), name


def test_other_arguments_go_through_django_reverse():
    assert _render("{% url 'desk:order_detail' pk=5 %}") == reverse("desk:order_detail", kwargs={"pk": 5})
    assert _render("{% url 'desk:order_detail' '12' %}") == reverse("desk:order_detail", args=["12"])
    assert _render("{% url 'orders:customers' %}?q=a") == reverse("orders:customers") + "?q=a"


def test_as_variable_and_errors_behave_like_djangos_tag():
    assert (
        _render("{% url 'desk:order_detail' 3 as link %}[{{ link }}]") == f"[{reverse('desk:order_detail', args=[3])}]"
    )
    assert _render("{% url 'no-such-view' 3 as link %}[{{ link }}]") == "[]"
    with pytest.raises(NoReverseMatch):
        _render("{% url 'no-such-view' 3 %}")
    with pytest.raises(NoReverseMatch):  # a negative number does not match [0-9]+
        _render("{% url 'desk:order_detail' -3 %}")
    with pytest.raises(TemplateSyntaxError):
        Template("{% url %}")


def test_the_script_prefix_is_part_of_the_pattern(settings):
    from django.urls import set_script_prefix

    plain = _render("{% url 'desk:order_detail' 9 %}")
    set_script_prefix("/o2c/")
    try:
        assert _render("{% url 'desk:order_detail' 9 %}") == "/o2c" + plain
    finally:
        set_script_prefix("/")
