// fix_reflector: a FIX 4.4 acceptor for session-level acceptance scenarios (tests/fix_acceptance).
//
//   fix_reflector --port PORT [--postgres-uri URI] [--data-dictionary FILE | --no-data-dictionary]
//                 [--log-dir DIR]
//
// One session, FIX.4.4 SenderCompID=ISLD TargetCompID=TW, ResetOnLogon=Y, sequence numbers and
// sent messages in the project's PostgreSQL store (fbg::PgMessageStoreFactory). The URI comes from
// --postgres-uri or else FBG_FIX_REFLECTOR_POSTGRES_URI. The data dictionary is
// fix_config/FIX44.xml of the source tree unless given; if that file does not exist the session
// runs with UseDataDictionary=N (a line on stderr says so).
//
// Application behaviour, the same as the reference acceptor QuickFIX's scenarios were written for:
//   NewOrderSingle (D)     echoed back unchanged; a PossResend=Y copy of a ClOrdID already seen in
//                          this logon is dropped
//   SecurityDefinition (d) and Email (C): echoed back
//   any other application message: UnsupportedMessageType (QuickFIX answers with a
//                          BusinessMessageReject)
// Runs in the foreground until SIGINT or SIGTERM. C++14 (QuickFIX 1.15.1 headers).
//
// QuickFIX 1.15.1 has no setting for the accept address: the socket listens on all interfaces.
#include <quickfix/Application.h>
#include <quickfix/FileLog.h>
#include <quickfix/Log.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>

#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>

#include "pg_message_store.h"

namespace {

class ReflectorApplication : public FIX::Application {
 public:
  void onCreate(const FIX::SessionID& id) override {
    FIX::Session* session = FIX::Session::lookupSession(id);
    if (session != nullptr) session->reset();
  }
  void onLogon(const FIX::SessionID& id) override {
    std::cerr << "fix_reflector: logon " << id.toString() << std::endl;
  }
  void onLogout(const FIX::SessionID& id) override {
    std::cerr << "fix_reflector: logout " << id.toString() << std::endl;
    std::lock_guard<std::mutex> lock(mutex_);
    seen_order_ids_.clear();
  }
  void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message&,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue, FIX::RejectLogon) override {}

  void fromApp(const FIX::Message& message,
               const FIX::SessionID& id) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                               FIX::IncorrectTagValue,
                                               FIX::UnsupportedMessageType) override {
    FIX::MsgType msg_type;
    message.getHeader().getField(msg_type);
    const std::string& type = msg_type.getValue();
    if (type == FIX::MsgType_NewOrderSingle) {
      onNewOrderSingle(message, id);
    } else if (type == FIX::MsgType_SecurityDefinition || type == FIX::MsgType_Email) {
      echo(message, id);
    } else {
      throw FIX::UnsupportedMessageType();
    }
  }

 private:
  void onNewOrderSingle(const FIX::Message& message, const FIX::SessionID& id) {
    FIX::PossResend poss_resend(false);
    message.getHeader().getFieldIfSet(poss_resend);
    FIX::ClOrdID cl_ord_id;
    message.getField(cl_ord_id);  // FieldNotFound: QuickFIX rejects the message
    const std::string key = id.toString() + '\x01' + cl_ord_id.getValue();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (poss_resend.getValue() && seen_order_ids_.count(key) != 0) return;
      seen_order_ids_.insert(key);
    }
    echo(message, id);
  }

  static void echo(const FIX::Message& message, const FIX::SessionID& id) {
    FIX::Message copy = message;
    FIX::Session::sendToTarget(copy, id);
  }

  std::mutex mutex_;
  std::set<std::string> seen_order_ids_;
};

bool fileExists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

int usage(const char* program) {
  std::cerr << "usage: " << program
            << " --port PORT [--postgres-uri URI] [--data-dictionary FILE | --no-data-dictionary]"
               " [--log-dir DIR]\n"
               "  the URI may also come from FBG_FIX_REFLECTOR_POSTGRES_URI\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string port;
  std::string postgres_uri;
  std::string data_dictionary = FBG_DEFAULT_DATA_DICTIONARY;
  bool use_data_dictionary = true;
  std::string log_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--port" && has_value) {
      port = argv[++i];
    } else if (arg == "--postgres-uri" && has_value) {
      postgres_uri = argv[++i];
    } else if (arg == "--data-dictionary" && has_value) {
      data_dictionary = argv[++i];
    } else if (arg == "--no-data-dictionary") {
      use_data_dictionary = false;
    } else if (arg == "--log-dir" && has_value) {
      log_dir = argv[++i];
    } else {
      return usage(argv[0]);
    }
  }
  if (postgres_uri.empty()) {
    const char* from_env = std::getenv("FBG_FIX_REFLECTOR_POSTGRES_URI");
    if (from_env != nullptr) postgres_uri = from_env;
  }
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      postgres_uri.empty()) {
    return usage(argv[0]);
  }
  if (use_data_dictionary && !fileExists(data_dictionary)) {
    std::cerr << "fix_reflector: no data dictionary at " << data_dictionary
              << ": running with UseDataDictionary=N" << std::endl;
    use_data_dictionary = false;
  }

  std::ostringstream text;
  text << "[DEFAULT]\n"
          "ConnectionType=acceptor\n"
          "SocketAcceptPort="
       << port
       << "\n"
          "SocketReuseAddress=Y\n"
          "StartTime=00:00:00\n"
          "EndTime=00:00:00\n"
          "SenderCompID=ISLD\n"
          "TargetCompID=TW\n"
          "ResetOnLogon=Y\n";
  if (!log_dir.empty()) text << "FileLogPath=" << log_dir << "\n";
  text << "[SESSION]\n"
          "BeginString=FIX.4.4\n";
  if (use_data_dictionary) {
    text << "UseDataDictionary=Y\nDataDictionary=" << data_dictionary << "\n";
  } else {
    text << "UseDataDictionary=N\n";
  }

  // Block the stop signals before QuickFIX starts its threads, so that only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    std::istringstream stream(text.str());
    FIX::SessionSettings settings(stream);
    ReflectorApplication application;
    fbg::PgMessageStoreFactory store_factory(postgres_uri);
    std::unique_ptr<FIX::LogFactory> log_factory;
    if (!log_dir.empty()) {
      log_factory.reset(new FIX::FileLogFactory(settings));
    } else {
      log_factory.reset(new FIX::ScreenLogFactory(false, false, false));
    }
    FIX::SocketAcceptor acceptor(application, store_factory, settings, *log_factory);
    acceptor.start();
    std::cerr << "fix_reflector: listening on port " << port << " (FIX.4.4 ISLD->TW, "
              << (use_data_dictionary ? "data dictionary " + data_dictionary
                                      : std::string("UseDataDictionary=N"))
              << ")" << std::endl;
    int received = 0;
    sigwait(&stop_signals, &received);
    std::cerr << "fix_reflector: signal " << received << ", stopping" << std::endl;
    acceptor.stop();
  } catch (const std::exception& failure) {
    std::cerr << "fix_reflector: " << failure.what() << std::endl;
    return 1;
  }
  return 0;
}
