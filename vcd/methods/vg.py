# -*- test-case-name: tests.test_groups_fake,tests.test_groups_running -*-
"""
The C{vg} namespace: groups of VPSes (the original's C{vg.add},
C{vg.remove}, C{vg.list}). The group C{all} is reserved: it always means
every VPS. The group C{onboot} is built in.
"""

from zope.interface import implementer
from twisted.internet import defer
from twisted.plugin import IPlugin

from vcd.vps import lifecycle

from vcd.api import arguments as A
from vcd.faults import VCDFault, faultName, invalid
from vcd.api.interfaces import IMethodNamespace
from vcd.api.method import OWNER_NONE, Method, Param
from vcd.vxdb import groups, registry
from vcd.vxdb.groups import BUILTIN_GROUPS, RESERVED_GROUP


def _ownedVps(call, cursor, name):
    vps = registry.findVps(cursor, name)
    if vps is None or not (call.user.admin or
                           registry.isOwner(cursor, vps.xid, call.user.uid)):
        raise registry.noSuchVps(name)
    return vps


def _add(call, cursor, args):
    group, name = args["group"], args["name"]
    if group == RESERVED_GROUP:
        raise invalid("group", "the group 'all' is reserved")
    vps = _ownedVps(call, cursor, name) if name else None
    gid = groups.createGroup(cursor, group)
    if vps is not None:
        groups.addMember(cursor, gid, vps.xid)


def _remove(call, cursor, args):
    group, name = args["group"], args["name"]
    if group == RESERVED_GROUP:
        raise invalid("group", "the group 'all' is reserved")
    gid = groups.requireGroup(cursor, group)
    if name:
        vps = _ownedVps(call, cursor, name)
        groups.removeMember(cursor, gid, vps.xid)
        return
    if group in BUILTIN_GROUPS:
        raise invalid("group", "the group %r is built in; remove its members"
                      " one by one" % (group,))
    if not call.user.admin:
        raise invalid("group", "only an administrator may delete a whole"
                      " group")
    groups.deleteGroup(cursor, gid)


def groupMembers(cursor, group, user):
    """
    Return the VPSes in C{group} (C{all}: every VPS) that C{user} passes
    owner checks for, as L{registry.VPS} records sorted by name.

    @raise VCDFault: MENOVG for an unknown group.
    """
    return groups.members(cursor, group,
                          None if user.admin else user.uid)


def _list(call, cursor, args):
    if not args["group"]:
        return groups.groupNames(cursor)
    return [vps.name for vps in groupMembers(cursor, args["group"],
                                             call.user)]


def groupAction(action):
    """
    Declare the body of a C{vg.vx.*} method: run C{action(services, xid,
    name)} on every VPS of the group (each under its lock, one after the
    other); one VPS's failure does not stop the others.

    @return: C{{"ok": [names], "failed": []}} when every VPS succeeded.
    @raise VCDFault: once every VPS was tried, if any failed (as the
        original daemon did, so that its C{vgc} reports it): the first
        failure's code, with a message naming each failed VPS and why, and
        those that succeeded.
    """
    @defer.inlineCallbacks
    def run(call, args):
        services = call.services
        members = yield services.db.transact(groupMembers, args["group"],
                                             call.user)
        ok, failed = [], []
        for xid, name in members:
            try:
                yield lifecycle.lockedAction(services, action, xid, name)
            except VCDFault as f:
                failed.append({"name": name, "faultCode": f.faultCode,
                               "faultString": f.faultString})
            else:
                ok.append(name)
        if failed:
            raise groupFault(call.method.name, args["group"], ok, failed)
        return {"ok": ok, "failed": failed}
    return run


def groupFault(method, group, ok, failed):
    """
    @param failed: C{{name, faultCode, faultString}} of each VPS that
        failed, in the order they were tried.
    @return: the L{VCDFault} of a group action some VPSes of which failed:
        the first failure's code; the message names every failed VPS with
        its fault, then those that succeeded.
    """
    lines = ["%s %s: %d of %d failed" % (method, group, len(failed),
                                         len(failed) + len(ok))]
    lines += ["%s: %s (%s %d)" % (f["name"], " ".join(
        f["faultString"].split("\n")), faultName(f["faultCode"]),
        f["faultCode"]) for f in failed]
    lines.append("succeeded: %s" % (", ".join(ok) or "none",))
    return VCDFault(failed[0]["faultCode"], "\n".join(lines))


_GROUP = Param("group", A.groupName(), doc="Group name")
_NAME = Param("name", A.vpsName(allowEmpty=True), "",
              "Virtual server name (empty: the group itself)")


@implementer(IPlugin, IMethodNamespace)
class GroupNamespace:
    """
    The C{vg} namespace.
    """

    name = "vg"
    description = "Groups of virtual servers"

    methods = (
        Method("vg.add", "AUTH", OWNER_NONE, [_GROUP, _NAME], "nil",
               "Create a group and/or add a VPS to it.", transaction=_add),
        Method("vg.remove", "AUTH", OWNER_NONE, [_GROUP, _NAME], "nil",
               "Remove a VPS from a group, or delete the group.",
               transaction=_remove),
        Method("vg.list", "AUTH", OWNER_NONE, [
            Param("group", A.Pattern(r"[A-Za-z0-9_-]{1,32}", "a group name",
                                     maxLength=32, allowEmpty=True), "",
                  "Group name (empty: list the groups)")],
            "array", "List the groups, or the VPSes of a group.",
            transaction=_list,
               readOnly=True),
    ) + tuple(
        Method("vg.vx." + action, "INIT", OWNER_NONE, [_GROUP], "struct",
               "%s every VPS of a group ('all': every VPS); one failure does"
               " not stop the others; if any failed, the fault (the first"
               " failure's code) names each and why." % (verb,),
               run=groupAction(function))
        for action, verb, function in (
            ("start", "Start", lifecycle.startVps),
            ("stop", "Stop", lifecycle.stopVps),
            ("reboot", "Reboot", lifecycle.rebootVps),
            ("restart", "Restart", lifecycle.restartVps)))


vg = GroupNamespace()
