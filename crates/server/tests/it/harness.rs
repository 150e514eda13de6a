//! Starting and stopping a real server process, and clients pointed at it.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;

/// A running `nimbus serve` child process on its own port.
pub struct Server {
    child: Option<Child>,
    /// The `nimbus` binary run: the test build's, unless a test asks for another.
    binary: PathBuf,
    pub port: u16,
    args: Vec<String>,
    /// Extra environment for the process (`start_with_env`).
    env: Vec<(String, String)>,
}

fn free_port() -> u16 {
    // Bind port 0 to let the OS pick, then release it for the server. A race with another
    // process is possible but harmless here: the start would fail loudly.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

fn test_build() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_nimbus"))
}

impl Server {
    /// A server keeping state under `data_dir`.
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with(Some(data_dir), &[])
    }

    /// A server with `--ephemeral`.
    pub fn ephemeral() -> Server {
        Server::start_with(None, &["--ephemeral"])
    }

    /// A server with `--ephemeral`, from another `nimbus` binary (a release build, to measure).
    pub fn ephemeral_from(binary: &Path) -> Server {
        let args = vec!["--ephemeral".to_owned()];
        let mut server =
            Server { child: None, binary: binary.to_owned(), port: free_port(), args, env: Vec::new() };
        server.spawn();
        server
    }

    pub fn start_with(data_dir: Option<&Path>, extra: &[&str]) -> Server {
        let mut args: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        if let Some(dir) = data_dir {
            args.push("--data-dir".into());
            args.push(dir.display().to_string());
        }
        let mut server =
            Server { child: None, binary: test_build(), port: free_port(), args, env: Vec::new() };
        server.spawn();
        server
    }

    /// `start_with`, with extra environment variables for the process.
    pub fn start_with_env(data_dir: Option<&Path>, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut args: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        if let Some(dir) = data_dir {
            args.push("--data-dir".into());
            args.push(dir.display().to_string());
        }
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let mut server = Server { child: None, binary: test_build(), port: free_port(), args, env };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let mut child = Command::new(&self.binary)
            .arg("serve")
            .arg("--port")
            .arg(self.port.to_string())
            .args(&self.args)
            .env_remove("NIMBUS_PORT")
            .env_remove("NIMBUS_DATA_DIR")
            .env("NIMBUS_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn nimbus");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let ready = lines.next().and_then(Result::ok).is_some_and(|l| l == "Ready.");
            let _ = tx.send(ready);
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        let ready = rx.recv_timeout(Duration::from_secs(30)).unwrap_or(false);
        assert!(ready, "nimbus did not print Ready.");
        self.child = Some(child);
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the process with SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let status =
            Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "nimbus did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts the same server again (same port, data dir and flags).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the server first");
        self.spawn();
    }

    /// An SDK config with the given access key, in the given region.
    pub async fn sdk_config(&self, access_key: &str, region: &'static str) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(aws_config::Region::new(region))
            .credentials_provider(Credentials::new(access_key, "test", None, None, "nimbus-tests"))
            .load()
            .await
    }

    pub async fn iam(&self, access_key: &str, region: &'static str) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk_config(access_key, region).await)
    }

    pub async fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.sdk_config("test", "us-east-1").await)
    }

    pub async fn logs(&self, access_key: &str, region: &'static str) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.sdk_config(access_key, region).await)
    }

    pub async fn sts(&self, access_key: &str, region: &'static str) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.sdk_config(access_key, region).await)
    }

    pub async fn lambda(&self, access_key: &str, region: &'static str) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.sdk_config(access_key, region).await)
    }

    pub async fn events(&self, access_key: &str, region: &'static str) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.sdk_config(access_key, region).await)
    }

    pub async fn sqs(&self, access_key: &str, region: &'static str) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config(access_key, region).await)
    }

    pub async fn sns(&self, access_key: &str, region: &'static str) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.sdk_config(access_key, region).await)
    }

    pub async fn apigateway(&self) -> aws_sdk_apigateway::Client {
        aws_sdk_apigateway::Client::new(&self.sdk_config("test", "us-east-1").await)
    }

    pub async fn apigatewayv2(&self) -> aws_sdk_apigatewayv2::Client {
        aws_sdk_apigatewayv2::Client::new(&self.sdk_config("test", "us-east-1").await)
    }

    /// The path-form invoke URL of an API Gateway API: `/_aws/execute-api/{api}{path}`.
    pub fn execute_api(&self, api_id: &str, path: &str) -> String {
        format!("{}/_aws/execute-api/{api_id}{path}", self.endpoint())
    }

    /// An S3 client addressing buckets path-style (`http://127.0.0.1:port/bucket/key`).
    pub async fn s3(&self, access_key: &str, region: &'static str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config(access_key, region).await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub async fn dynamodb(&self, access_key: &str, region: &'static str) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config(access_key, region).await)
    }

    /// A Lambda client that does not retry: throttles reach the test as errors.
    pub async fn lambda_without_retries(&self) -> aws_sdk_lambda::Client {
        let config = aws_sdk_lambda::config::Builder::from(&self.sdk_config("test", "us-east-1").await)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_lambda::Client::from_conf(config)
    }

    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::new()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A trust policy every role in the tests uses.
pub const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Creates an on-demand DynamoDB table keyed by a string `id`.
pub async fn create_id_table(ddb: &aws_sdk_dynamodb::Client, name: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    ddb.create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .key_schema(
            KeySchemaElement::builder().attribute_name("id").key_type(KeyType::Hash).build().expect("key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
}

/// Creates an SQS queue and returns its URL.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue().queue_name(name).send().await.expect("queue").queue_url().expect("url").to_owned()
}

/// Receives up to `want` messages (with their attributes) from `url`, waiting up to ten seconds.
pub async fn receive(sqs: &aws_sdk_sqs::Client, url: &str, want: usize) -> Vec<aws_sdk_sqs::types::Message> {
    let mut got = Vec::new();
    for _ in 0..10 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .wait_time_seconds(1)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive");
        got.extend(out.messages().iter().cloned());
        if got.len() >= want {
            break;
        }
    }
    got
}
