//! Every parser of untrusted bytes: classification, the four message
//! formats, and the encode(parse(x)) == x round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wg_proto::proto::messages::*;
use wg_proto::testing::{message_type, MessageType};

fuzz_target!(|data: &[u8]| {
    let ty = message_type(data);
    let init = Initiation::parse(data);
    let resp = Response::parse(data);
    let cookie = CookieReply::parse(data);
    let header = DataHeader::parse(data);
    assert_eq!(init.is_ok(), ty == Some(MessageType::Initiation));
    assert_eq!(resp.is_ok(), ty == Some(MessageType::Response));
    assert_eq!(cookie.is_ok(), ty == Some(MessageType::CookieReply));
    assert_eq!(header.is_ok(), ty == Some(MessageType::Data));
    if let Ok(m) = init {
        assert_eq!(&m.encode()[..], data);
    }
    if let Ok(m) = resp {
        assert_eq!(&m.encode()[..], data);
    }
    if let Ok(m) = cookie {
        assert_eq!(&m.encode()[..], data);
    }
    if let Ok(h) = header {
        assert_eq!(&h.encode()[..], &data[..DATA_HEADER_LEN]);
    }
});
