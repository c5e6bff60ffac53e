// fix_config/ as QuickFIX 1.15.1 reads it.
//
// The dictionary part checks messages the way a session does with UseDataDictionary=Y: the wire
// text is parsed with the dictionary (Session::next(const std::string&)), then the parsed
// message is validated (Session::next(const Message&) -> DataDictionary::validate). A message
// that passes here is one QuickFIX hands to fromApp/fromAdmin; one that throws here is answered
// with a Reject and never reaches the application.
//
// The settings part substitutes the placeholders of each .cfg in memory, as our processes do,
// parses it with FIX::SessionSettings, checks the sessions of FLOW.md and builds every session
// through FIX::SessionFactory (which loads the dictionary named by the file and checks the
// schedule, ConnectionType and HeartBtInt), without opening any socket.

#include <quickfix/Application.h>
#include <quickfix/DataDictionary.h>
#include <quickfix/Exceptions.h>
#include <quickfix/FieldConvertors.h>
#include <quickfix/Message.h>
#include <quickfix/MessageStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionFactory.h>
#include <quickfix/SessionID.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/TimeRange.h>
#include <quickfix/fix44/BusinessMessageReject.h>
#include <quickfix/fix44/ExecutionReport.h>
#include <quickfix/fix44/Heartbeat.h>
#include <quickfix/fix44/Logon.h>
#include <quickfix/fix44/Logout.h>
#include <quickfix/fix44/NewOrderSingle.h>
#include <quickfix/fix44/OrderCancelReject.h>
#include <quickfix/fix44/OrderCancelReplaceRequest.h>
#include <quickfix/fix44/OrderCancelRequest.h>
#include <quickfix/fix44/OrderStatusRequest.h>
#include <quickfix/fix44/Reject.h>
#include <quickfix/fix44/ResendRequest.h>
#include <quickfix/fix44/SequenceReset.h>
#include <quickfix/fix44/TestRequest.h>

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

const std::string kDictionaryPath = FIX44_XML;

std::string configDir() {
  return kDictionaryPath.substr(0, kDictionaryPath.rfind('/'));
}

const FIX::DataDictionary& dictionary() {
  static const FIX::DataDictionary loaded(kDictionaryPath);
  return loaded;
}

// The wire text of `message` as its session would send it: header completed the way
// Session::fill does, BodyLength and CheckSum computed by toString().
std::string toWire(FIX::Message message, const std::string& sender = "GATEWAY",
                   const std::string& target = "SIM-A") {
  FIX::Header& header = message.getHeader();
  header.setField(FIX::SenderCompID(sender));
  header.setField(FIX::TargetCompID(target));
  header.setField(FIX::MsgSeqNum(7));
  header.setField(FIX::SendingTime(FIX::UtcTimeStamp(), 3));
  return message.toString();
}

// What the receiving session does with the text, with the same dictionary settings.
void validateWire(const std::string& wire, const FIX::DataDictionary& dd = dictionary()) {
  const FIX::Message parsed(wire, dd, true);
  dd.validate(parsed);
}

FIX44::NewOrderSingle newOrderSingle() {
  FIX44::NewOrderSingle order(FIX::ClOrdID("0b7c1f52-order"), FIX::Side(FIX::Side_BUY),
                              FIX::TransactTime(FIX::UtcTimeStamp(), 6),
                              FIX::OrdType(FIX::OrdType_LIMIT));
  order.set(FIX::Symbol("AAPL"));
  order.set(FIX::OrderQty(100));
  // Prices go on the wire as the exact decimal text; QuickFIX's PriceField is a double.
  order.setField(FIX::FIELD::Price, "187.25");
  order.set(FIX::TimeInForce(FIX::TimeInForce_DAY));
  order.set(FIX::Account("DEMO-1"));
  order.set(
      FIX::HandlInst(FIX::HandlInst_AUTOMATED_EXECUTION_ORDER_PRIVATE_NO_BROKER_INTERVENTION));
  return order;
}

FIX44::ExecutionReport executionReport() {
  FIX44::ExecutionReport report(
      FIX::OrderID("SIM-A-42"), FIX::ExecID("SIM-A-42-E3"), FIX::ExecType(FIX::ExecType_TRADE),
      FIX::OrdStatus(FIX::OrdStatus_PARTIALLY_FILLED), FIX::Side(FIX::Side_BUY), FIX::LeavesQty(60),
      FIX::CumQty(40), FIX::AvgPx(187.1));
  report.set(FIX::ClOrdID("0b7c1f52-order"));
  report.set(FIX::Symbol("AAPL"));
  report.set(FIX::OrderQty(100));
  report.set(FIX::LastQty(40));
  report.setField(FIX::FIELD::LastPx, "187.10");
  report.set(FIX::TransactTime(FIX::UtcTimeStamp(), 6));
  report.set(FIX::OrdType(FIX::OrdType_LIMIT));
  report.setField(FIX::FIELD::Price, "187.25");
  report.set(FIX::TimeInForce(FIX::TimeInForce_DAY));
  return report;
}

// ---------------------------------------------------------------------------------------------
// The dictionary itself
// ---------------------------------------------------------------------------------------------

TEST(FixDictionary, LoadsAsFix44WithExactlyOurMessageTypes) {
  ASSERT_NO_THROW(dictionary());
  EXPECT_EQ(dictionary().getVersion(), "FIX.4.4");
  for (const char* type : {"0", "1", "2", "3", "4", "5", "A", "D", "F", "H", "8", "9", "j"}) {
    EXPECT_TRUE(dictionary().isMsgType(type)) << type;
  }
  // Types of FIX 4.4 our sessions do not carry (replace, mass cancel, allocation, news).
  for (const char* type : {"G", "q", "J", "B"}) {
    EXPECT_FALSE(dictionary().isMsgType(type)) << type;
  }
}

TEST(FixDictionary, AMissingFileIsAConfigError) {
  EXPECT_THROW(FIX::DataDictionary(configDir() + "/no-such-dictionary.xml"), FIX::ConfigError);
}

// ---------------------------------------------------------------------------------------------
// Well-formed messages of every kind pass
// ---------------------------------------------------------------------------------------------

TEST(FixDictionary, NewOrderSingleValidates) {
  EXPECT_NO_THROW(validateWire(toWire(newOrderSingle())));
}

TEST(FixDictionary, MinimalMarketOrderValidates) {
  FIX44::NewOrderSingle order(FIX::ClOrdID("c-1"), FIX::Side(FIX::Side_SELL),
                              FIX::TransactTime(FIX::UtcTimeStamp(), 6),
                              FIX::OrdType(FIX::OrdType_MARKET));
  order.set(FIX::Symbol("MSFT"));
  order.set(FIX::OrderQty(5));
  EXPECT_NO_THROW(validateWire(toWire(order)));
}

TEST(FixDictionary, RetriedNewOrderSingleWithPossResendValidates) {
  FIX44::NewOrderSingle order = newOrderSingle();
  order.getHeader().setField(FIX::PossResend(true));
  EXPECT_NO_THROW(validateWire(toWire(order)));
}

TEST(FixDictionary, ExecutionReportValidates) {
  EXPECT_NO_THROW(validateWire(toWire(executionReport(), "SIM-A", "FILLS")));
}

TEST(FixDictionary, RejectedOrderReportWithTextValidates) {
  FIX44::ExecutionReport report = executionReport();
  report.set(FIX::ExecType(FIX::ExecType_REJECTED));
  report.set(FIX::OrdStatus(FIX::OrdStatus_REJECTED));
  report.set(FIX::LeavesQty(0));
  report.set(FIX::CumQty(0));
  report.set(FIX::LastQty(0));
  report.setField(FIX::FIELD::LastPx, "0");
  report.set(FIX::AvgPx(0));
  report.set(FIX::OrdRejReason(FIX::OrdRejReason_UNKNOWN_SYMBOL));
  report.set(FIX::Text("unknown symbol"));
  EXPECT_NO_THROW(validateWire(toWire(report, "SIM-A", "GATEWAY")));
}

TEST(FixDictionary, OrderStatusAnswerForADuplicateClOrdIdValidates) {
  FIX44::ExecutionReport report = executionReport();
  report.set(FIX::ExecType(FIX::ExecType_ORDER_STATUS));
  report.set(FIX::LastQty(0));
  report.setField(FIX::FIELD::LastPx, "0");
  EXPECT_NO_THROW(validateWire(toWire(report, "SIM-A", "GATEWAY")));
}

TEST(FixDictionary, OrderCancelRequestValidates) {
  FIX44::OrderCancelRequest cancel(FIX::OrigClOrdID("0b7c1f52-order"),
                                   FIX::ClOrdID("0b7c1f52-order-C1"), FIX::Side(FIX::Side_BUY),
                                   FIX::TransactTime(FIX::UtcTimeStamp(), 6));
  cancel.set(FIX::OrderID("SIM-A-42"));
  cancel.set(FIX::Symbol("AAPL"));
  cancel.set(FIX::OrderQty(100));
  EXPECT_NO_THROW(validateWire(toWire(cancel)));
}

TEST(FixDictionary, OrderStatusRequestValidates) {
  FIX44::OrderStatusRequest status(FIX::ClOrdID("0b7c1f52-order"), FIX::Side(FIX::Side_BUY));
  status.set(FIX::Symbol("AAPL"));
  EXPECT_NO_THROW(validateWire(toWire(status)));
  status.set(FIX::OrderID("SIM-A-42"));
  EXPECT_NO_THROW(validateWire(toWire(status)));
}

TEST(FixDictionary, OrderCancelRejectValidates) {
  FIX44::OrderCancelReject reject(
      FIX::OrderID("SIM-A-42"), FIX::ClOrdID("0b7c1f52-order-C1"),
      FIX::OrigClOrdID("0b7c1f52-order"), FIX::OrdStatus(FIX::OrdStatus_FILLED),
      FIX::CxlRejResponseTo(FIX::CxlRejResponseTo_ORDER_CANCEL_REQUEST));
  reject.set(FIX::CxlRejReason(FIX::CxlRejReason_TOO_LATE_TO_CANCEL));
  reject.set(FIX::Text("already filled"));
  EXPECT_NO_THROW(validateWire(toWire(reject, "SIM-A", "GATEWAY")));
}

TEST(FixDictionary, BusinessMessageRejectValidates) {
  // SIM-B's answer to an OrderStatusRequest.
  FIX44::BusinessMessageReject reject(
      FIX::RefMsgType("H"),
      FIX::BusinessRejectReason(FIX::BusinessRejectReason_UNSUPPORTED_MESSAGE_TYPE));
  reject.set(FIX::RefSeqNum(12));
  reject.set(FIX::BusinessRejectRefID("0b7c1f52-order"));
  reject.set(FIX::Text("order status requests are not supported"));
  EXPECT_NO_THROW(validateWire(toWire(reject, "SIM-B", "GATEWAY")));
}

TEST(FixDictionary, SessionMessagesAsQuickFixWritesThemValidate) {
  FIX44::Logon logon(FIX::EncryptMethod(FIX::EncryptMethod_NONE_OTHER), FIX::HeartBtInt(10));
  EXPECT_NO_THROW(validateWire(toWire(logon)));
  logon.set(FIX::ResetSeqNumFlag(true));
  logon.setField(FIX::NextExpectedMsgSeqNum(3));
  EXPECT_NO_THROW(validateWire(toWire(logon)));

  FIX44::Heartbeat heartbeat;
  EXPECT_NO_THROW(validateWire(toWire(heartbeat)));
  heartbeat.set(FIX::TestReqID("TEST"));
  EXPECT_NO_THROW(validateWire(toWire(heartbeat)));

  EXPECT_NO_THROW(validateWire(toWire(FIX44::TestRequest(FIX::TestReqID("TEST")))));
  EXPECT_NO_THROW(validateWire(toWire(FIX44::ResendRequest(FIX::BeginSeqNo(3), FIX::EndSeqNo(0)))));

  // A gap fill, as Session::generateSequenceReset sends it during a resend.
  FIX44::SequenceReset gapFill(FIX::NewSeqNo(9));
  gapFill.set(FIX::GapFillFlag(true));
  gapFill.getHeader().setField(FIX::PossDupFlag(true));
  gapFill.getHeader().setField(FIX::OrigSendingTime(FIX::UtcTimeStamp(), 3));
  EXPECT_NO_THROW(validateWire(toWire(gapFill)));

  // A session reject, with every field Session::generateReject sets.
  FIX44::Reject reject(FIX::RefSeqNum(4));
  reject.set(FIX::RefTagID(54));
  reject.set(FIX::RefMsgType("D"));
  reject.set(FIX::SessionRejectReason(FIX::SessionRejectReason_VALUE_IS_INCORRECT));
  reject.set(FIX::Text("Value is incorrect (out of range) for this tag"));
  EXPECT_NO_THROW(validateWire(toWire(reject)));

  FIX44::Logout logout;
  logout.set(FIX::Text("bye"));
  EXPECT_NO_THROW(validateWire(toWire(logout)));
}

// ---------------------------------------------------------------------------------------------
// What is refused, and as what
// ---------------------------------------------------------------------------------------------

TEST(FixDictionary, NewOrderSingleWithoutClOrdIdIsRequiredTagMissing) {
  FIX44::NewOrderSingle order = newOrderSingle();
  order.removeField(FIX::FIELD::ClOrdID);
  try {
    validateWire(toWire(order));
    FAIL() << "validated without ClOrdID";
  } catch (const FIX::RequiredTagMissing& e) {
    EXPECT_EQ(e.field, FIX::FIELD::ClOrdID);
  }
}

TEST(FixDictionary, NewOrderSingleWithoutSymbolIsRequiredTagMissing) {
  // Symbol comes through the required Instrument component.
  FIX44::NewOrderSingle order = newOrderSingle();
  order.removeField(FIX::FIELD::Symbol);
  try {
    validateWire(toWire(order));
    FAIL() << "validated without Symbol";
  } catch (const FIX::RequiredTagMissing& e) {
    EXPECT_EQ(e.field, FIX::FIELD::Symbol);
  }
}

TEST(FixDictionary, ExecutionReportWithoutLastPxIsRequiredTagMissing) {
  FIX44::ExecutionReport report = executionReport();
  report.removeField(FIX::FIELD::LastPx);
  try {
    validateWire(toWire(report, "SIM-A", "FILLS"));
    FAIL() << "validated without LastPx";
  } catch (const FIX::RequiredTagMissing& e) {
    EXPECT_EQ(e.field, FIX::FIELD::LastPx);
  }
}

TEST(FixDictionary, MissingHeaderSendingTimeIsRequiredTagMissing) {
  // Holds only because the header uses required="true" (see the comment in FIX44.xml).
  FIX::Message order = newOrderSingle();
  FIX::Header& header = order.getHeader();
  header.setField(FIX::SenderCompID("GATEWAY"));
  header.setField(FIX::TargetCompID("SIM-A"));
  header.setField(FIX::MsgSeqNum(7));
  try {
    validateWire(order.toString());
    FAIL() << "validated without SendingTime";
  } catch (const FIX::RequiredTagMissing& e) {
    EXPECT_EQ(e.field, FIX::FIELD::SendingTime);
  }
}

TEST(FixDictionary, SideZIsIncorrectTagValue) {
  FIX44::NewOrderSingle order = newOrderSingle();
  order.set(FIX::Side('Z'));
  try {
    validateWire(toWire(order));
    FAIL() << "validated Side=Z";
  } catch (const FIX::IncorrectTagValue& e) {
    EXPECT_EQ(e.field, FIX::FIELD::Side);
  }
}

TEST(FixDictionary, UnlistedEnumValuesAreIncorrectTagValue) {
  FIX44::NewOrderSingle stop = newOrderSingle();
  stop.set(FIX::OrdType(FIX::OrdType_STOP));
  EXPECT_THROW(validateWire(toWire(stop)), FIX::IncorrectTagValue);

  FIX44::NewOrderSingle goodTillDate = newOrderSingle();
  goodTillDate.set(FIX::TimeInForce(FIX::TimeInForce_GOOD_TILL_DATE));
  EXPECT_THROW(validateWire(toWire(goodTillDate)), FIX::IncorrectTagValue);

  FIX44::ExecutionReport report = executionReport();
  report.set(FIX::ExecType(FIX::ExecType_TRADE_CANCEL));
  EXPECT_THROW(validateWire(toWire(report, "SIM-A", "FILLS")), FIX::IncorrectTagValue);
}

TEST(FixDictionary, UnknownMsgTypeIsInvalidMessageType) {
  // A real FIX 4.4 message (cancel/replace) that our sessions do not carry.
  FIX44::OrderCancelReplaceRequest replace(
      FIX::OrigClOrdID("0b7c1f52-order"), FIX::ClOrdID("0b7c1f52-order-R1"),
      FIX::Side(FIX::Side_BUY), FIX::TransactTime(FIX::UtcTimeStamp(), 6),
      FIX::OrdType(FIX::OrdType_LIMIT));
  EXPECT_THROW(validateWire(toWire(replace)), FIX::InvalidMessageType);

  FIX::Message invented;
  invented.getHeader().setField(FIX::BeginString("FIX.4.4"));
  invented.getHeader().setField(FIX::MsgType("ZZ"));
  EXPECT_THROW(validateWire(toWire(invented)), FIX::InvalidMessageType);
}

TEST(FixDictionary, ListedTagInTheWrongMessageIsTagNotDefinedForMessage) {
  FIX44::OrderStatusRequest status(FIX::ClOrdID("0b7c1f52-order"), FIX::Side(FIX::Side_BUY));
  status.set(FIX::Symbol("AAPL"));
  status.setField(FIX::FIELD::Price, "187.25");
  try {
    validateWire(toWire(status));
    FAIL() << "validated Price on an OrderStatusRequest";
  } catch (const FIX::TagNotDefinedForMessage& e) {
    EXPECT_EQ(e.field, FIX::FIELD::Price);
  }
}

TEST(FixDictionary, UnlistedTagBelow5000IsInvalidTagNumber) {
  FIX44::ExecutionReport report = executionReport();
  report.setField(FIX::ExecRestatementReason(FIX::ExecRestatementReason_OTHER));  // tag 378
  try {
    validateWire(toWire(report, "SIM-A", "FILLS"));
    FAIL() << "validated a tag the dictionary does not list";
  } catch (const FIX::InvalidTagNumber& e) {
    EXPECT_EQ(e.field, FIX::FIELD::ExecRestatementReason);
  }
}

TEST(FixDictionary, UserDefinedTagPassesOnlyWithValidateUserDefinedFieldsOff) {
  FIX44::ExecutionReport report = executionReport();
  report.setField(5001, "custom");
  const std::string wire = toWire(report, "SIM-A", "FILLS");
  EXPECT_THROW(validateWire(wire), FIX::InvalidTagNumber);

  // What SessionFactory makes of ValidateUserDefinedFields=N in our .cfg files.
  FIX::DataDictionary lenient(dictionary());
  lenient.checkUserDefinedFields(false);
  EXPECT_NO_THROW(validateWire(wire, lenient));
}

TEST(FixDictionary, BadNumberIsIncorrectDataFormat) {
  FIX44::NewOrderSingle order = newOrderSingle();
  order.setField(FIX::FIELD::OrderQty, "ten");
  try {
    validateWire(toWire(order));
    FAIL() << "validated OrderQty=ten";
  } catch (const FIX::IncorrectDataFormat& e) {
    EXPECT_EQ(e.field, FIX::FIELD::OrderQty);
  }
}

// ---------------------------------------------------------------------------------------------
// Session settings
// ---------------------------------------------------------------------------------------------

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void replaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (std::string::size_type at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

const char* const kRunDir = "/nonexistent/fbg-run";

// The file with its placeholders substituted, as our processes do before QuickFIX reads it.
FIX::SessionSettings loadSettings(const std::string& name) {
  std::string text = readFile(configDir() + "/" + name);
  replaceAll(text, "${FIX_CONFIG_DIR}", configDir());
  replaceAll(text, "${RUN_DIR}", kRunDir);
  // Only comments may still mention a placeholder; no value may keep one.
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line[0] != '#' && line.find("${") != std::string::npos) {
      std::string message = name;
      message += ": unknown placeholder in: ";
      message += line;
      throw std::runtime_error(message);
    }
  }
  std::istringstream stream(text);
  return FIX::SessionSettings(stream);
}

FIX::SessionID sessionId(const std::string& sender, const std::string& target) {
  return FIX::SessionID("FIX.4.4", sender, target);
}

struct ExpectedSession {
  std::string sender;
  std::string target;
  std::string connectionType;
  int port;  // SocketAcceptPort for an acceptor, SocketConnectPort for an initiator
};

struct ConfigCase {
  std::string file;
  std::string process;  // the directory name under ${RUN_DIR}/fixlog and fixstore
  std::vector<ExpectedSession> sessions;
};

std::vector<ConfigCase> configCases() {
  return {
      {"gateway-SIM-A.cfg", "gateway-SIM-A", {{"GATEWAY", "SIM-A", "initiator", 9876}}},
      {"gateway-SIM-B.cfg", "gateway-SIM-B", {{"GATEWAY", "SIM-B", "initiator", 9878}}},
      {"simulator-SIM-A.cfg",
       "simulator-SIM-A",
       {{"SIM-A", "GATEWAY", "acceptor", 9876}, {"SIM-A", "FILLS", "initiator", 9877}}},
      {"simulator-SIM-B.cfg",
       "simulator-SIM-B",
       {{"SIM-B", "GATEWAY", "acceptor", 9878}, {"SIM-B", "FILLS", "initiator", 9877}}},
      {"fill_receiver.cfg",
       "fill_receiver",
       {{"FILLS", "SIM-A", "acceptor", 9877}, {"FILLS", "SIM-B", "acceptor", 9877}}},
  };
}

// gtest prints a failing parameter with this instead of its bytes.
void PrintTo(const ConfigCase& c, std::ostream* os) {
  *os << c.file;
}

class FixSettings : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(FixSettings, NamesExactlyTheSessionsOfFlowMd) {
  const ConfigCase& c = GetParam();
  FIX::SessionSettings settings = loadSettings(c.file);

  std::set<FIX::SessionID> expected;
  for (const ExpectedSession& s : c.sessions) expected.insert(sessionId(s.sender, s.target));
  EXPECT_EQ(settings.getSessions(), expected);

  for (const ExpectedSession& s : c.sessions) {
    SCOPED_TRACE(s.sender + "->" + s.target);
    const FIX::Dictionary& d = settings.get(sessionId(s.sender, s.target));
    EXPECT_EQ(d.getString("ConnectionType"), s.connectionType);
    if (s.connectionType == "acceptor") {
      EXPECT_EQ(d.getInt("SocketAcceptPort"), s.port);
      EXPECT_FALSE(d.has("SocketConnectPort"));
    } else {
      EXPECT_EQ(d.getString("SocketConnectHost"), "127.0.0.1");
      EXPECT_EQ(d.getInt("SocketConnectPort"), s.port);
      // The initiator session must not carry an accept port (see simulator-SIM-A.cfg).
      EXPECT_FALSE(d.has("SocketAcceptPort"));
      EXPECT_EQ(d.getInt("HeartBtInt"), 10);
    }
    EXPECT_EQ(d.getString("DataDictionary"), kDictionaryPath);
    EXPECT_TRUE(d.getBool("UseDataDictionary"));
    EXPECT_FALSE(d.getBool("ValidateUserDefinedFields"));
    EXPECT_TRUE(d.getBool("PersistMessages"));
    EXPECT_FALSE(d.getBool("ResetOnLogon"));
    EXPECT_FALSE(d.getBool("ResetOnLogout"));
    EXPECT_FALSE(d.getBool("ResetOnDisconnect"));
    EXPECT_EQ(d.getString("StartTime"), "00:00:00");
    EXPECT_EQ(d.getString("EndTime"), "00:00:00");
    EXPECT_EQ(d.getString("FileLogPath"), std::string(kRunDir) + "/fixlog/" + c.process);
    EXPECT_EQ(d.getString("FileStorePath"), std::string(kRunDir) + "/fixstore/" + c.process);
  }

  // SocketInitiator reads ReconnectInterval from [DEFAULT] only.
  bool hasInitiator = false;
  for (const ExpectedSession& s : c.sessions) hasInitiator |= s.connectionType == "initiator";
  if (hasInitiator) {
    EXPECT_EQ(settings.get().getInt("ReconnectInterval"), 1);
  }
}

TEST_P(FixSettings, EverySessionIsAcceptedBySessionFactory) {
  const ConfigCase& c = GetParam();
  FIX::SessionSettings settings = loadSettings(c.file);
  FIX::NullApplication application;
  FIX::MemoryStoreFactory stores;
  FIX::SessionFactory factory(application, stores, nullptr);
  for (const FIX::SessionID& id : settings.getSessions()) {
    SCOPED_TRACE(id.toString());
    FIX::Session* session = nullptr;
    ASSERT_NO_THROW(session = factory.create(id, settings.get(id)));
    ASSERT_NE(session, nullptr);
    EXPECT_EQ(session->getSessionID(), id);
    EXPECT_EQ(session->getPersistMessages(), true);
    EXPECT_EQ(session->getResetOnLogon(), false);
    EXPECT_EQ(session->getResetOnDisconnect(), false);
    factory.destroy(session);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryFile, FixSettings, ::testing::ValuesIn(configCases()),
                         [](const ::testing::TestParamInfo<ConfigCase>& info) {
                           std::string name = info.param.process;
                           replaceAll(name, "-", "_");
                           return name;
                         });

TEST(FixSettingsGateway, RefreshesSequenceNumbersFromTheStoreOnLogon) {
  for (const char* file : {"gateway-SIM-A.cfg", "gateway-SIM-B.cfg"}) {
    FIX::SessionSettings settings = loadSettings(file);
    for (const FIX::SessionID& id : settings.getSessions()) {
      EXPECT_TRUE(settings.get(id).getBool("RefreshOnLogon")) << file;
    }
  }
}

// The simulator runs one acceptor and one initiator from one file; each must be given only its
// own sessions (QuickFIX 1.15.1's socket acceptor reads SocketAcceptPort of every session it is
// given). This is the split, and what each half holds.
FIX::SessionSettings onlyConnectionType(const FIX::SessionSettings& all, const std::string& type) {
  FIX::SessionSettings part;
  part.set(all.get());
  for (const FIX::SessionID& id : all.getSessions()) {
    if (all.get(id).getString("ConnectionType") == type) part.set(id, all.get(id));
  }
  return part;
}

TEST(FixSettingsSimulator, SplitsIntoOneAcceptorAndOneInitiatorSession) {
  for (const std::string profile : {"SIM-A", "SIM-B"}) {
    SCOPED_TRACE(profile);
    const FIX::SessionSettings all = loadSettings("simulator-" + profile + ".cfg");
    const FIX::SessionSettings acceptor = onlyConnectionType(all, "acceptor");
    const FIX::SessionSettings initiator = onlyConnectionType(all, "initiator");
    EXPECT_EQ(acceptor.getSessions(), std::set<FIX::SessionID>{sessionId(profile, "GATEWAY")});
    EXPECT_EQ(initiator.getSessions(), std::set<FIX::SessionID>{sessionId(profile, "FILLS")});
    EXPECT_TRUE(acceptor.get(sessionId(profile, "GATEWAY")).has("SocketAcceptPort"));
    EXPECT_EQ(initiator.get().getInt("ReconnectInterval"), 1);
  }
}

// StartTime=EndTime=00:00:00 is "always in session", but one session period is one UTC date:
// QuickFIX resets the session (sequence numbers to 1, store cleared) when the date changes.
TEST(FixSettingsSchedule, AllDaySessionStillEndsAtUtcMidnight) {
  const FIX::SessionSettings settings = loadSettings("fill_receiver.cfg");
  const FIX::Dictionary& d = settings.get();
  FIX::TimeRange schedule(FIX::UtcTimeOnlyConvertor::convert(d.getString("StartTime")),
                          FIX::UtcTimeOnlyConvertor::convert(d.getString("EndTime")));
  const FIX::UtcTimeStamp morning(0, 0, 1, 24, 11, 2026);
  const FIX::UtcTimeStamp evening(23, 59, 59, 24, 11, 2026);
  const FIX::UtcTimeStamp nextDay(0, 0, 1, 25, 11, 2026);
  EXPECT_TRUE(schedule.isInRange(morning));
  EXPECT_TRUE(schedule.isInRange(evening));
  EXPECT_TRUE(schedule.isInSameRange(morning, evening));
  EXPECT_FALSE(schedule.isInSameRange(evening, nextDay));
}

}  // namespace
