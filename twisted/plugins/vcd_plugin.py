from twisted.application.service import ServiceMaker
VCD = ServiceMaker("vcd", "vcd.tap", "VServer Control Daemon (XML-RPC)", "vcd")
