"""PDF: invoice PDFs rendered per second by the render task's body (load, template, WeasyPrint,
hash, store, timeline) against WeasyPrint alone on the same HTML (the floor of PERFORMANCE.md:
1.89 PDFs/s). Target: overhead under 15% (ratio < 1.15).

    python manage.py bench pdf [--scale 1]

The same measurement as invoicing.pdf_renders_per_worker, alone (no issue-rate runs)."""

import statistics

from invoicing import services
from o2c.bench.common import Figure, require_postgresql
from o2c.bench.invoicing import RUNS, _customers, _drafts, _render_rates, _restore_broker, _scratch_broker


def run(*, scale: float) -> list[Figure]:
    require_postgresql()
    renders = max(3, int(20 * scale))
    previous = _scratch_broker()
    try:
        services.current_company()
        customers = _customers(4)
        task_rates, weasy_rates = _render_rates([_drafts(customers, renders) for _ in range(RUNS)])
    finally:
        _restore_broker(previous)
    return [
        Figure(
            "pdf.renders_per_worker",
            "PDFs/s",
            task_rates,
            floor=statistics.median(weasy_rates),
            higher_is_better=True,
            target="ratio < 1.15 (overhead over WeasyPrint alone under 15%)",
            extra={"pdfs_per_run": renders, "weasyprint_alone": [round(r, 3) for r in weasy_rates]},
        )
    ]
