"""
Running the command-line clients in tests: against the fake-kernel daemon
(L{tests.fakedaemon}) in process, through a transport that marshals each
call as XML-RPC, hands it to the daemon's dispatcher, lets the fake clock
run until the answer is there, and marshals the answer back; or against a
real daemon (L{tests.harness.DaemonTestCase}) over HTTP, in a thread.
"""

import io
import xmlrpc.client

from twisted.internet import defer, threads

from tests import harness
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


class DaemonClientMixin:
    """
    For L{tests.harness.DaemonTestCase}s: run a client against the
    daemon, as admin.
    """

    def runClientThread(self, tool, *argv):
        """
        Run C{tool.main(argv)} in a thread (the daemon shares this
        reactor).

        @return: a Deferred firing with C{(exit code, stdout, stderr)}.
        """
        def run():
            out, err = io.StringIO(), io.StringIO()
            code = tool.main(["-H", "127.0.0.1", "-p",
                              str(self.port.getHost().port)] + list(argv),
                             stdout=out, stderr=err, stdin=io.StringIO(),
                             environ={"VCC_PASSWORD": harness.ADMIN_PASSWORD})
            return code, out.getvalue(), err.getvalue()
        return threads.deferToThread(run)
