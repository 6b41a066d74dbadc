//! An in-memory Kubernetes API for the reconcile tests: objects by path,
//! server-side apply as replace, JSON patches, status writes, and a log of
//! every write.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};

/// Objects by API path, and a log of every write.
#[derive(Default)]
pub struct FakeApi {
    pub objects: BTreeMap<String, Value>,
    pub writes: Vec<String>,
    next_version: u64,
}

impl FakeApi {
    fn handle(&mut self, method: &http::Method, path: &str, body: &[u8]) -> (StatusCode, Value) {
        let not_found = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404});
        match *method {
            http::Method::GET
                if path.ends_with("/pods") || path.ends_with("/persistentvolumeclaims") =>
            {
                (
                    StatusCode::OK,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": []}),
                )
            }
            http::Method::GET if path.ends_with("/kafkatopics") => {
                let prefix = format!("{path}/");
                let items: Vec<Value> = self
                    .objects
                    .iter()
                    .filter(|(p, _)| p.starts_with(&prefix) && !p[prefix.len()..].contains('/'))
                    .map(|(_, o)| o.clone())
                    .collect();
                let list = json!({"apiVersion": "weir.dev/v1alpha1", "kind": "KafkaTopicList", "metadata": {}, "items": items});
                (StatusCode::OK, list)
            }
            http::Method::GET => match self.objects.get(path) {
                Some(o) => (StatusCode::OK, o.clone()),
                None => (StatusCode::NOT_FOUND, not_found),
            },
            http::Method::POST => {
                self.writes.push(format!("POST {path}"));
                (
                    StatusCode::CREATED,
                    serde_json::from_slice(body).unwrap_or(Value::Null),
                )
            }
            http::Method::PATCH if path.ends_with("/status") => {
                self.writes.push(format!("PATCH {path}"));
                let owner = path.trim_end_matches("/status").to_string();
                let patch: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let object = self.objects.entry(owner).or_insert_with(|| json!({}));
                object["status"] = patch["status"].clone();
                (StatusCode::OK, object.clone())
            }
            http::Method::PATCH if body.first() == Some(&b'[') => {
                // A JSON patch (finalizers): applied to the stored object.
                self.writes.push(format!("PATCH {path}"));
                let Some(object) = self.objects.get_mut(path) else {
                    return (StatusCode::NOT_FOUND, not_found);
                };
                let patch: json_patch::Patch = match serde_json::from_slice(body) {
                    Ok(p) => p,
                    Err(_) => return (StatusCode::BAD_REQUEST, Value::Null),
                };
                // The API server reads a missing field as null in `test` ops.
                if object["metadata"].get("finalizers").is_none() {
                    object["metadata"]["finalizers"] = Value::Null;
                }
                if json_patch::patch(object, &patch).is_err() {
                    return (StatusCode::UNPROCESSABLE_ENTITY, Value::Null);
                }
                (StatusCode::OK, object.clone())
            }
            http::Method::PATCH => {
                self.writes.push(format!("PATCH {path}"));
                let mut object: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let unchanged = self.objects.get(path).is_some_and(|old| {
                    let mut old = old.clone();
                    old["metadata"]
                        .as_object_mut()
                        .map(|m| m.remove("resourceVersion"));
                    old == object
                });
                let version = if unchanged {
                    self.objects[path]["metadata"]["resourceVersion"].clone()
                } else {
                    self.next_version += 1;
                    json!(self.next_version.to_string())
                };
                object["metadata"]["resourceVersion"] = version;
                self.objects.insert(path.to_string(), object.clone());
                (StatusCode::OK, object)
            }
            _ => (StatusCode::METHOD_NOT_ALLOWED, Value::Null),
        }
    }
}

/// A client whose requests are answered by `api`.
pub fn client(api: Arc<Mutex<FakeApi>>) -> Client {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            let method = request.method().clone();
            let path = request.uri().path().to_string();
            let body = request
                .into_body()
                .collect_bytes()
                .await
                .unwrap_or_default();
            let (status, value) = api.lock().unwrap().handle(&method, &path, &body);
            let response = Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&value).unwrap()))
                .unwrap();
            send.send_response(response);
        }
    });
    Client::new(service, "default")
}
