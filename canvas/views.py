from django.shortcuts import render

from canvas import permissions
from orchestration.validation import validate


def workflow_list(request):
    workflows = permissions.visible(request.user).select_related("owner")
    rows = [(w, validate(w.document)) for w in workflows]
    return render(request, "canvas/workflow_list.html", {"rows": rows})
