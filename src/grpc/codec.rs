//! The protobuf codec of every memori.v1 service.
//!
//! Identical to tonic-prost's codec except for one thing: a request that
//! fails to decode (e.g. a string field holding invalid UTF-8) is answered
//! with INVALID_ARGUMENT naming the message and field, rather than INTERNAL,
//! since the fault is the caller's and the caller needs to know where.

use std::marker::PhantomData;

use prost::Message;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstEncoder};

use crate::error::Error;

pub struct ValidatingCodec<T, U> {
    inner: ProstCodec<T, U>,
}

impl<T, U> Default for ValidatingCodec<T, U> {
    fn default() -> Self {
        ValidatingCodec {
            inner: ProstCodec::default(),
        }
    }
}

impl<T, U> Codec for ValidatingCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ValidatingDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.inner.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        ValidatingDecoder(PhantomData)
    }
}

pub struct ValidatingDecoder<U>(PhantomData<U>);

impl<U: Message + Default> Decoder for ValidatingDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf).map(Some).map_err(|error| {
            // prost's message reads like "failed to decode Protobuf message:
            // MetadataEntry.value: AttributeRequest.metadata: invalid string
            // value: data is not UTF-8 encoded"; the field path is the part
            // before the last description.
            let text = error.to_string();
            let detail = text
                .strip_prefix("failed to decode Protobuf message: ")
                .unwrap_or(&text);
            let field = detail
                .split(": ")
                .filter(|part| part.contains('.') && !part.contains(' '))
                .last()
                .unwrap_or("request")
                .to_string();
            Error::invalid(field, format!("the request could not be decoded: {detail}")).into()
        })
    }
}
