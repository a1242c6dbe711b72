"""The business web surface: the REST API (``/api/v1``), the dashboard (``/board``), the ``/对账``
workbook download, the signed approval pages (``/approve``) and the quotation sheets (``/quotes``).

What ``web`` may import: ``storage`` (every query, as ``uow.pages`` and the other repositories and
services; never ``sqlalchemy``, never ``uow.session``), ``handlers.texts`` (its Chinese: no Chinese
literal lives in ``web``), ``handlers.args`` (the chat's own parsers and the order's field list, so
the API accepts what ``/下单`` accepts), ``handlers.common`` and ``handlers.notify`` (the one
order-creation pipeline the API shares with ``/下单``), and the framework it serves through:
``bot.{config,errors,events,outbound,dispatch,context,commands,transport}``. Never
``bot.wecom``/``bot.dingtalk`` (platform code) and never ``schedules`` (what it needs from there,
such as payment terms, the composition root passes in).

``bot`` does not import ``web``, except the composition roots ``bot/app.py`` and ``bot/cli.py``,
which register the routes and put the link makers on the dispatcher.

The REST API: query models ``rest_queries``, body models ``rest_order_input``, answer models
``rest_schemas`` (and ``rest_reports``), the OpenAPI document generated from them ``rest_openapi``.
"""
