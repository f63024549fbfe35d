"""`{{ value|when }}`: a moment as `<time datetime="…" data-local>`, written in the server's
time zone with the zone's name; the page's script rewrites it in the reader's own zone, in the
same format (`when.js`)."""

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()


@register.filter
def when(value):
    if not value:
        return "—"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" data-local>{}</time>',
        value.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
    )
