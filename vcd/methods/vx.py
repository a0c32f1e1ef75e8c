"""
The C{vx} namespace: general maintenance (manual chapter 12). This issue
provides creation, removal, renaming and the template list; starting and
stopping come with the kernel helper.
"""

from zope.interface import implementer
from twisted.internet import defer
from twisted.plugin import IPlugin

from vcd import arguments as A
from vcd.faults import MEEXIST, MERUNNING, VCDFault, invalid
from vcd.interfaces import IMethodNamespace
from vcd.method import OWNER_CREATE, OWNER_NONE, OWNER_VPS, Method, Param
from vcd.provision import createVps, removeVps
from vcd.vxdb import store
from vcd.vxdb.families import nameParam


def _create(call, args):
    return createVps(call, args["name"], args["template"], args["force"],
                     args["copy"], args["vdir"])


def _remove(call, args):
    return removeVps(call, args["name"])


def _renameRows(cursor, xid, name, newname):
    if store.findVps(cursor, newname) is not None:
        raise VCDFault(MEEXIST, "virtual server %r already exists"
                       % (newname,))
    cursor.execute("UPDATE xid_name_map SET name = ? WHERE xid = ?",
                   (newname, xid))


@defer.inlineCallbacks
def _rename(call, args):
    services = call.services
    name, newname = args["name"], args["newname"]
    if name == newname:
        raise invalid("newname", "is the current name")
    if not services.locks.acquire(newname):
        raise VCDFault(302, "virtual server %r is busy" % (newname,))
    try:
        if (yield services.kernel.isRunning(name)):
            raise VCDFault(MERUNNING, "virtual server %r is running; stop it"
                           " first" % (name,))
        if (yield services.kernel.isRunning(newname)):
            raise VCDFault(MERUNNING, "a container called %r is running"
                           % (newname,))
        yield services.db.transact(_renameRows, call.vps.xid, name, newname)
    finally:
        services.locks.release(newname)


def _describe(template):
    return {"name": template.name, "description": template.description}


@defer.inlineCallbacks
def _templates(call, args):
    store_ = call.services.templates
    if args["name"]:
        try:
            template = yield call.services.filesystem(store_.get,
                                                      args["name"])
        except (KeyError, ValueError):
            raise invalid("name", "no usable template called %r"
                          % (args["name"],))
        return [_describe(template)]
    templates = yield call.services.filesystem(store_.list)
    return [_describe(t) for t in templates]


@implementer(IPlugin, IMethodNamespace)
class VXNamespace:
    """
    The C{vx} namespace.
    """

    name = "vx"
    description = "General maintenance methods (manual chapter 12)"

    methods = (
        Method("vx.create", "CREATE", OWNER_CREATE, [
            nameParam(),
            Param("template", A.templateName(allowEmpty=True),
                  doc="Template to create the VPS from"),
            Param("force", A.Bool(), False,
                  "Rebuild an existing (stopped) VPS; alias: rebuild"),
            Param("copy", A.Bool(), False,
                  "A private full copy instead of copy-on-write"),
            Param("vdir", A.AbsolutePath(allowEmpty=True), "",
                  "Directory under vbasedir (administrators only)"),
        ], "nil", "Create a virtual server from a template.", run=_create,
            lock=True, aliases={"rebuild": "force"}),
        Method("vx.remove", "CREATE", OWNER_VPS, [nameParam()], "nil",
               "Remove a stopped virtual server: its files and every VXDB"
               " row.", run=_remove, lock=True),
        Method("vx.rename", "CREATE", OWNER_VPS, [
            nameParam(), Param("newname", A.vpsName(), doc="New name")],
            "nil", "Rename a stopped virtual server (VXDB only).",
            run=_rename, lock=True),
        Method("vx.templates", "CREATE", OWNER_NONE, [
            Param("name", A.templateName(allowEmpty=True), "",
                  "Template name (empty for all)")],
            "array", "List the templates.", run=_templates),
    )


vx = VXNamespace()
