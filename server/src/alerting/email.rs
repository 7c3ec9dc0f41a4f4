//! The email channel: one plain-text message per event to the action's recipients, over
//! SMTP (lettre). `smtp://host:port` uses STARTTLS when the server offers it, `smtps://` is
//! TLS from the start; credentials go in the URL.

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::dispatch::Outcome;

pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: String,
}

/// One message.
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

impl Mailer {
    pub fn new(smtp_url: Option<&str>, from: &str) -> anyhow::Result<Mailer> {
        let transport = match smtp_url {
            None => None,
            Some(url) => Some(transport(url)?),
        };
        from.parse::<Mailbox>()
            .map_err(|e| anyhow::anyhow!("mail_from \"{from}\": {e}"))?;
        Ok(Mailer {
            transport,
            from: from.to_owned(),
        })
    }

    pub fn configured(&self) -> bool {
        self.transport.is_some()
    }

    pub async fn send(&self, mail: Mail) -> Outcome {
        let Some(transport) = &self.transport else {
            return Outcome::Final(None, "email is not configured: set smtp_url".into());
        };
        let message = match build(&self.from, mail) {
            Ok(m) => m,
            Err(e) => return Outcome::Final(None, e),
        };
        match transport.send(message).await {
            Ok(_) => Outcome::Delivered(None),
            Err(e) if e.is_permanent() => Outcome::Final(None, format!("SMTP: {e}")),
            Err(e) => Outcome::Retry(None, format!("SMTP: {e}"), None),
        }
    }
}

fn transport(url: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let parsed = url::Url::parse(url).map_err(|e| anyhow::anyhow!("smtp_url: {e}"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| anyhow::anyhow!("smtp_url has no host"))?
        .to_owned();
    let mut builder = match parsed.scheme() {
        "smtp" => {
            // STARTTLS when the server offers it, plain otherwise.
            let tls = TlsParameters::new(host.clone())?;
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                .port(parsed.port().unwrap_or(25))
                .tls(Tls::Opportunistic(tls))
        }
        "smtps" => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&host)?.port(parsed.port().unwrap_or(465))
        }
        other => anyhow::bail!("smtp_url: unsupported scheme \"{other}\" (smtp or smtps)"),
    };
    if !parsed.username().is_empty() {
        let user = percent_decode(parsed.username());
        let password = percent_decode(parsed.password().unwrap_or(""));
        builder = builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
            user, password,
        ));
    }
    Ok(builder.build())
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn build(from: &str, mail: Mail) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(from.parse::<Mailbox>().map_err(|e| e.to_string())?)
        .subject(mail.subject)
        .header(ContentType::TEXT_PLAIN);
    for to in &mail.to {
        builder = builder.to(to
            .parse::<Mailbox>()
            .map_err(|e| format!("recipient \"{to}\": {e}"))?);
    }
    builder.body(mail.body).map_err(|e| e.to_string())
}
