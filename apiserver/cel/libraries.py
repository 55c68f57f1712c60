"""The Kubernetes CEL libraries kube-apiserver v1.32 adds to the standard environment, installed in one place."""
from __future__ import annotations

from apiserver.cel.authz import authz_library
from apiserver.cel.ext_format import format_library
from apiserver.cel.ext_strings import lists_library, regex_library, sets_library, strings_library
from apiserver.cel.lib_format import format_library as kubernetes_format_library
from apiserver.cel.lib_net import ip_library, url_library
from apiserver.cel.lib_quantity import quantity_library
from apiserver.cel.overloads import Library


def kubernetes_libraries(library: Library) -> None:
    for install in (strings_library, format_library, lists_library, regex_library, sets_library, ip_library,
                    url_library, quantity_library, authz_library, kubernetes_format_library):
        install(library)
