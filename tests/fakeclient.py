"""
The command-line clients against the fake-kernel daemon
(L{tests.fakedaemon}), in process: a transport that marshals each call as
XML-RPC, hands it to the daemon's dispatcher, lets the fake clock run
until the answer is there, and marshals the answer back.
"""

import io
import xmlrpc.client

from twisted.internet import defer

from tests.fakedaemon import ADMIN_PASSWORD
from vcd.faults import VCDFault

#: How far the fake clock may run for one call (a stop waits its timeout).
MAX_SECONDS = 600


class FakeTransport:
    """
    A client transport (see L{vcd.scripts._session.Session}) to a
    L{tests.fakedaemon.FakeDaemon}; it records the calls made.

    @ivar calls: C{(method, arguments)} of every call.
    """

    def __init__(self, fake):
        self.fake = fake
        self.calls = []

    def __call__(self, settings, method, arguments):
        self.calls.append((method, arguments))
        credentials = {"username": settings.user,
                       "password": settings.password}
        params, _ = xmlrpc.client.loads(xmlrpc.client.dumps(
            (credentials, arguments), allow_none=True))
        answers = []
        defer.maybeDeferred(self.fake.dispatch, method, params).addBoth(
            answers.append)
        for _ in range(MAX_SECONDS):
            if answers:
                break
            self.fake.clock.advance(1)
        if not answers:
            raise AssertionError("%s gave no answer within %d fake seconds"
                                 % (method, MAX_SECONDS))
        answer = answers[0]
        if isinstance(answer, VCDFault):
            raise xmlrpc.client.Fault(answer.faultCode, answer.faultString)
        (result,), _ = xmlrpc.client.loads(xmlrpc.client.dumps(
            (answer,), methodresponse=True, allow_none=True))
        return result


class FakeClientMixin:
    """
    For TestCases with L{tests.fakedaemon.FakeDaemonMixin}: run a client
    against C{self.fake}.
    """

    def runClient(self, tool, *argv, password=ADMIN_PASSWORD, user=None):
        """
        Run C{tool.main(argv)} against the fake daemon.

        @return: C{(exit code, stdout, stderr)}.
        """
        if user is not None:
            argv = ("-u", user) + argv
        out, err = io.StringIO(), io.StringIO()
        self.transport = FakeTransport(self.fake)
        code = tool.main(list(argv), stdout=out, stderr=err,
                         stdin=io.StringIO(),
                         environ={"VCC_PASSWORD": password},
                         transport=self.transport)
        return code, out.getvalue(), err.getvalue()
