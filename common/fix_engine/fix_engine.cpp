// QuickFIX glue for fix_engine.h. C++14 (QuickFIX 1.15.1 headers), compiled with
// -fno-enforce-eh-specs: fromApp must be able to throw FIX::IOException (not in QuickFIX's
// declared specification) so that a storage failure disconnects without counting the message;
// with enforced specifications that throw would call std::unexpected and end the process.
#include "fix_engine.h"

#include <quickfix/Application.h>
#include <quickfix/FileLog.h>
#include <quickfix/FileStore.h>
#include <quickfix/Log.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>
#include <quickfix/fix44/Message.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>
#include <stdexcept>

#include "pg_message_store.h"
#include "prompt_initiator.h"

namespace fbg {
namespace fix {
namespace {

// Session-level header fields QuickFIX owns; everything else crosses the boundary.
bool sessionOwned(int tag) {
  static const std::set<int> kOwned = {8, 9, 35, 49, 56, 34, 52, 10};
  return kOwned.count(tag) != 0;
}

Message toPlain(const FIX::Message& source) {
  Message plain;
  const FIX::Header& header = source.getHeader();
  for (FIX::FieldMap::const_iterator it = header.begin(); it != header.end(); ++it) {
    if (it->getTag() == 35) plain.msg_type = it->getString();
    if (it->getTag() == 34) plain.msg_seq_num = std::atoi(it->getString().c_str());
    if (!sessionOwned(it->getTag())) plain.header.push_back(Field{it->getTag(), it->getString()});
  }
  for (FIX::FieldMap::const_iterator it = source.begin(); it != source.end(); ++it) {
    plain.body.push_back(Field{it->getTag(), it->getString()});
  }
  plain.raw = source.toString();
  std::replace(plain.raw.begin(), plain.raw.end(), '\x01', '|');
  return plain;
}

FIX::Message fromPlain(const Message& plain) {
  FIX::Message message;
  message.getHeader().setField(FIX::BeginString("FIX.4.4"));
  message.getHeader().setField(FIX::MsgType(plain.msg_type));
  for (const Field& field : plain.header) message.getHeader().setField(field.tag, field.value);
  for (const Field& field : plain.body) message.setField(field.tag, field.value);
  return message;
}

class Application : public FIX::Application {
 public:
  explicit Application(EngineCallbacks callbacks) : callbacks_(std::move(callbacks)) {}

  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID& id) override {
    if (callbacks_.on_logon) callbacks_.on_logon(id.toString());
  }
  void onLogout(const FIX::SessionID& id) override {
    if (callbacks_.on_logout) callbacks_.on_logout(id.toString());
  }
  void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
  void fromAdmin(const FIX::Message&,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue, FIX::RejectLogon) override {}

  void toApp(FIX::Message& message, const FIX::SessionID& id) throw(FIX::DoNotSend) override {
    if (!callbacks_.before_app_send) return;
    FIX::PossDupFlag possible_duplicate(false);
    if (message.getHeader().isSetField(possible_duplicate)) {
      message.getHeader().getField(possible_duplicate);
    }
    bool send = true;
    try {
      send = callbacks_.before_app_send(id.toString(), toPlain(message),
                                        possible_duplicate.getValue());
    } catch (const std::exception& failure) {
      // A failing hook must not end the process; QuickFIX's default is to send.
      spdlog::error("{}: before_app_send failed, sending anyway: {}", id.toString(),
                    failure.what());
      send = true;
    }
    if (!send) throw FIX::DoNotSend();
  }

  void fromApp(const FIX::Message& message,
               const FIX::SessionID& id) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                               FIX::IncorrectTagValue,
                                               FIX::UnsupportedMessageType) override {
    Delivery delivery = Delivery::StorageFailed;
    try {
      delivery = callbacks_.on_app_message
                     ? callbacks_.on_app_message(id.toString(), toPlain(message))
                     : Delivery::UnsupportedMessageType;
    } catch (const std::exception& failure) {
      // Only FIX exceptions may leave a QuickFIX callback: treat it as not stored, so the
      // session drops without counting the message and the peer resends it.
      spdlog::error("{}: application failed on {}: {}", id.toString(),
                    message.getHeader().getField(35), failure.what());
      delivery = Delivery::StorageFailed;
    }
    if (delivery == Delivery::UnsupportedMessageType) throw FIX::UnsupportedMessageType();
    if (delivery == Delivery::StorageFailed) throw FIX::IOException("application could not store");
  }

 private:
  EngineCallbacks callbacks_;
};

}  // namespace

const std::string* Message::find(int tag) const {
  for (const Field& field : body) {
    if (field.tag == tag) return &field.value;
  }
  return nullptr;
}

const std::string* Message::findInHeader(int tag) const {
  for (const Field& field : header) {
    if (field.tag == tag) return &field.value;
  }
  return nullptr;
}

struct Engine::Impl {
  EngineRole role;
  Application application;
  FIX::SessionSettings settings;
  std::unique_ptr<FIX::MessageStoreFactory> store_factory;
  std::unique_ptr<FIX::LogFactory> log_factory;
  std::unique_ptr<FIX::Acceptor> acceptor;
  std::unique_ptr<FIX::Initiator> initiator;

  Impl(EngineRole engine_role, const std::string& settings_text, const StoreOptions& store,
       EngineCallbacks callbacks)
      : role(engine_role),
        application(std::move(callbacks)),
        settings(parse(settings_text, engine_role)),
        store_factory(makeStoreFactory(store, settings)) {
    if (settings.get().has("FileLogPath")) {
      log_factory.reset(new FIX::FileLogFactory(settings));
    } else {
      log_factory.reset(new FIX::ScreenLogFactory(false, false, false));
    }
  }

  // FileStoreFactory would only notice a missing FileStorePath once a session is created, in
  // start(); refusing it here names the setting before anything runs.
  static std::unique_ptr<FIX::MessageStoreFactory> makeStoreFactory(
      const StoreOptions& store, const FIX::SessionSettings& settings) {
    if (store.kind == StoreKind::Postgres) {
      return std::unique_ptr<FIX::MessageStoreFactory>(
          new PgMessageStoreFactory(store.postgres_uri, store.target_seq_write_every_messages,
                                    store.target_seq_hold, store.sender_seq_block_messages));
    }
    for (const FIX::SessionID& id : settings.getSessions()) {
      if (!settings.get(id).has("FileStorePath")) {
        throw std::runtime_error("FIX session settings: " + id.toString() +
                                 " needs FileStorePath for the file store");
      }
    }
    return std::unique_ptr<FIX::MessageStoreFactory>(new FIX::FileStoreFactory(settings));
  }

  // Only the sessions of this engine's role: QuickFIX's acceptor demands SocketAcceptPort of
  // every session it is handed, initiator sessions included, so a file with both (the
  // simulator's) is split here.
  static FIX::SessionSettings parse(const std::string& text, EngineRole role) {
    std::istringstream stream(text);
    try {
      const FIX::SessionSettings all(stream);
      const std::string wanted = role == EngineRole::Acceptor ? "acceptor" : "initiator";
      FIX::SessionSettings mine;
      mine.set(all.get());
      for (const FIX::SessionID& id : all.getSessions()) {
        const FIX::Dictionary& session = all.get(id);
        if (session.getString("ConnectionType") == wanted) mine.set(id, session);
      }
      return mine;
    } catch (const FIX::ConfigError& failure) {
      throw std::runtime_error(std::string("FIX session settings: ") + failure.what());
    }
  }
};

Engine::Engine(EngineRole role, const std::string& settings_text, const std::string& postgres_uri,
               EngineCallbacks callbacks)
    : Engine(role, settings_text, StoreOptions{StoreKind::Postgres, postgres_uri},
             std::move(callbacks)) {}

Engine::Engine(EngineRole role, const std::string& settings_text, const StoreOptions& store,
               EngineCallbacks callbacks)
    : impl_(new Impl(role, settings_text, store, std::move(callbacks))) {}

Engine::~Engine() {
  stop();
}

void Engine::start() {
  try {
    if (impl_->role == EngineRole::Acceptor) {
      impl_->acceptor.reset(new FIX::SocketAcceptor(impl_->application, *impl_->store_factory,
                                                    impl_->settings, *impl_->log_factory));
      impl_->acceptor->start();
    } else {
      impl_->initiator.reset(new PromptInitiator(impl_->application, *impl_->store_factory,
                                                 impl_->settings, *impl_->log_factory));
      impl_->initiator->start();
    }
  } catch (const FIX::Exception& failure) {
    throw std::runtime_error(std::string("FIX engine start: ") + failure.what());
  }
}

void Engine::stop() {
  if (impl_->acceptor) impl_->acceptor->stop();
  if (impl_->initiator) impl_->initiator->stop();
}

bool Engine::send(const std::string& session_id, const Message& message) {
  FIX::SessionID id;
  id.fromString(session_id);
  FIX::Session* session = FIX::Session::lookupSession(id);
  if (session == nullptr || !session->isLoggedOn()) return false;
  FIX::Message outbound = fromPlain(message);
  return session->send(outbound);
}

bool Engine::disconnect(const std::string& session_id) {
  FIX::SessionID id;
  id.fromString(session_id);
  FIX::Session* session = FIX::Session::lookupSession(id);
  if (session == nullptr || !session->isLoggedOn()) return false;
  session->disconnect();
  return true;
}

std::vector<SessionStatus> Engine::sessions() const {
  std::vector<SessionStatus> statuses;
  const std::set<FIX::SessionID> ids = impl_->settings.getSessions();
  for (const FIX::SessionID& id : ids) {
    FIX::Session* session = FIX::Session::lookupSession(id);
    if (session == nullptr) {
      statuses.push_back(SessionStatus{id.toString(), false, 0, 0});
      continue;
    }
    statuses.push_back(SessionStatus{id.toString(), session->isLoggedOn(),
                                     session->getExpectedSenderNum(),
                                     session->getExpectedTargetNum()});
  }
  return statuses;
}

}  // namespace fix
}  // namespace fbg
