//! The deployment files, checked by configuration: what cannot run on this machine (the
//! Prometheus and Grafana images of docker/compose.yaml cannot be pulled; there is no
//! Kubernetes cluster) is validated here, and docker.rs runs what can (Shoal's containers).
//!
//! - docker/prometheus.yml passes `promtool check config` and scrapes the metrics port of
//!   every Shoal service of the compose file.
//! - Grafana's provisioning files point at the compose file's Prometheus and at the directory
//!   where it mounts the dashboard.
//! - docker/compose.yaml: every Shoal node is given every node as a seed by service name, the
//!   cluster secret, a health check through `shoal --healthcheck`, and time to leave
//!   gracefully; `docker-compose config` accepts it.
//! - docker/Dockerfile: a runtime stage that build-offline.sh can reuse (no RUN), non-root,
//!   the three ports, the health check.
//! - deploy/k8s: every resource of the Kustomization validates against Kubernetes' schemas
//!   (`kubernetes-validate --strict`, from PyPI, offline once installed; and the rendered
//!   Kustomization too where `kubectl` is installed), and the parts agree with each other.
//!
//! YAML is read with Python's PyYAML (a dependency of kubernetes-validate). A missing tool
//! skips its check with a message, except under CI, where it fails.

use serde_json::Value;
use shoal_tests::{under_ci, workspace};
use std::path::Path;
use std::process::Command;

/// Whether `program args` runs; if not, says so (and fails under CI) naming `install`.
fn tool(program: &str, args: &[&str], install: &str) -> bool {
    let ok = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !under_ci(),
            "`{program} {}` fails under CI: {install}",
            args.join(" ")
        );
        println!("skipped: `{program} {}` fails ({install})", args.join(" "));
    }
    ok
}

fn have_pyyaml() -> bool {
    tool(
        "python3",
        &["-c", "import yaml"],
        "python3 -m pip install kubernetes-validate (it brings PyYAML)",
    )
}

/// Every document of a YAML file, as JSON values.
fn yaml(relative: &str) -> Vec<Value> {
    let path = workspace().join(relative);
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml\n\
             with open(sys.argv[1]) as f:\n    \
                 json.dump(list(yaml.safe_load_all(f)), sys.stdout)",
        ])
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{} is not valid YAML: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from python")
}

/// The one document of a YAML file.
fn yaml_one(relative: &str) -> Value {
    let mut docs = yaml(relative);
    assert_eq!(docs.len(), 1, "{relative}: one document");
    docs.remove(0)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(workspace().join(relative))
        .unwrap_or_else(|e| panic!("reading {relative}: {e}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// The compose file's Shoal services, by name.
fn shoal_services(compose: &Value) -> Vec<(String, Value)> {
    let services = compose["services"].as_object().expect("services");
    let mut found: Vec<(String, Value)> = services
        .iter()
        .filter(|(name, _)| name.starts_with("shoal-"))
        .map(|(name, s)| (name.clone(), s.clone()))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[test]
fn prometheus_config_is_valid_and_scrapes_every_node() {
    if tool(
        "promtool",
        &["--version"],
        "apt-get install prometheus (it ships promtool)",
    ) {
        let out = Command::new("promtool")
            .args(["check", "config"])
            .arg(workspace().join("docker/prometheus.yml"))
            .output()
            .expect("promtool runs");
        assert!(
            out.status.success(),
            "promtool check config docker/prometheus.yml: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if !have_pyyaml() {
        return;
    }
    let config = yaml_one("docker/prometheus.yml");
    let compose = yaml_one("docker/compose.yaml");
    let mut targets: Vec<String> = config["scrape_configs"]
        .as_array()
        .expect("scrape_configs")
        .iter()
        .flat_map(|job| job["static_configs"].as_array().into_iter().flatten())
        .flat_map(|sc| strings(&sc["targets"]))
        .collect();
    targets.sort();
    let wanted: Vec<String> = shoal_services(&compose)
        .iter()
        .map(|(name, _)| format!("{name}:9379"))
        .collect();
    assert_eq!(wanted.len(), 3, "three Shoal services in compose.yaml");
    assert_eq!(
        targets, wanted,
        "Prometheus scrapes each node's metrics port"
    );
    assert!(
        compose["services"]["prometheus"]["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| v.as_str() == Some("./prometheus.yml:/etc/prometheus/prometheus.yml:ro")),
        "compose mounts docker/prometheus.yml where Prometheus reads it"
    );
}

#[test]
fn grafana_provisioning_matches_the_compose_file() {
    if !have_pyyaml() {
        return;
    }
    let compose = yaml_one("docker/compose.yaml");
    let grafana = &compose["services"]["grafana"];
    let volumes = strings(&grafana["volumes"]);
    assert!(
        volumes.contains(&"./grafana/provisioning:/etc/grafana/provisioning:ro".to_string()),
        "{volumes:?}"
    );
    let dashboard_mount = volumes
        .iter()
        .find_map(|v| v.strip_prefix("./grafana/shoal-dashboard.json:"))
        .and_then(|v| v.strip_suffix(":ro"))
        .expect("compose mounts the dashboard");

    let datasources = yaml_one("docker/grafana/provisioning/datasources/prometheus.yaml");
    assert_eq!(datasources["apiVersion"], 1);
    let sources = datasources["datasources"].as_array().expect("datasources");
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0]["type"], "prometheus");
    assert_eq!(sources[0]["isDefault"], true);
    let url = sources[0]["url"].as_str().expect("url");
    let host = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split(':').next())
        .expect("http://host:port");
    assert!(
        compose["services"][host].is_object(),
        "the datasource's host {host} is a compose service"
    );
    assert!(url.ends_with(":9090"), "{url}");

    let dashboards = yaml_one("docker/grafana/provisioning/dashboards/shoal.yaml");
    assert_eq!(dashboards["apiVersion"], 1);
    let providers = dashboards["providers"].as_array().expect("providers");
    assert_eq!(providers.len(), 1);
    assert_eq!(providers[0]["type"], "file");
    let dir = providers[0]["options"]["path"].as_str().expect("path");
    assert_eq!(
        Path::new(dashboard_mount).parent(),
        Some(Path::new(dir)),
        "the provider reads the directory the dashboard is mounted in"
    );
    let home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
        .as_str()
        .expect("home dashboard");
    assert_eq!(home, dashboard_mount);
    let dashboard: Value =
        serde_json::from_str(&read("docker/grafana/shoal-dashboard.json")).expect("JSON");
    assert!(dashboard["uid"].is_string() && dashboard["panels"].is_array());
}

#[test]
fn compose_file_joins_every_node_by_name_with_a_secret() {
    if !have_pyyaml() {
        return;
    }
    let compose = yaml_one("docker/compose.yaml");
    let services = shoal_services(&compose);
    let names: Vec<&str> = services.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["shoal-1", "shoal-2", "shoal-3"]);
    for (name, service) in &services {
        let env = &service["environment"];
        let join: Vec<&str> = env["SHOAL_JOIN"]
            .as_str()
            .expect("SHOAL_JOIN")
            .split(',')
            .collect();
        let wanted: Vec<String> = names.iter().map(|n| format!("{n}:16379")).collect();
        assert_eq!(join, wanted, "{name} is given every node's bus by name");
        assert!(
            env["SHOAL_CLUSTER_SECRET"]
                .as_str()
                .is_some_and(|s| s.contains("SHOAL_CLUSTER_SECRET")),
            "{name}: the secret comes from SHOAL_CLUSTER_SECRET"
        );
        let test = strings(&service["healthcheck"]["test"]);
        assert!(
            test.contains(&"--healthcheck".to_string()),
            "{name}: {test:?}"
        );
        let grace = service["stop_grace_period"].as_str().expect("grace period");
        let seconds: u64 = grace
            .strip_suffix('s')
            .and_then(|s| s.parse().ok())
            .expect("seconds");
        assert!(
            seconds > 30,
            "{name}: stop_grace_period {grace} leaves the 30 s leave its time"
        );
        assert!(service["build"]["dockerfile"] == "docker/Dockerfile");
    }
    let compose_tool = if Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        vec!["docker-compose"]
    } else {
        vec!["docker", "compose"]
    };
    if tool(
        compose_tool[0],
        &[&compose_tool[1..], &["version"][..]].concat(),
        "apt-get install docker-compose",
    ) {
        let file = workspace().join("docker/compose.yaml");
        let out = Command::new(compose_tool[0])
            .args(&compose_tool[1..])
            .arg("-f")
            .arg(&file)
            .args(["config", "-q"])
            .output()
            .expect("compose runs");
        assert!(
            out.status.success(),
            "compose config: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn dockerfile_runtime_stage_is_shared_with_the_offline_build() {
    let text = read("docker/Dockerfile");
    let (build, runtime) = text
        .split_once("\n# ---- runtime")
        .expect("the runtime marker build-offline.sh cuts at");
    assert!(build.contains("FROM ${RUST_IMAGE} AS build"));
    assert!(runtime.contains("FROM ${RUNTIME_BASE} AS runtime"));
    assert!(runtime.contains("COPY --from=build /out/shoal /usr/local/bin/shoal"));
    let instructions: Vec<&str> = runtime
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        !instructions.contains(&"RUN"),
        "the offline base has no shell: the runtime stage cannot RUN ({instructions:?})"
    );
    assert!(runtime.contains("USER 65532:65532"));
    assert!(runtime.contains("EXPOSE 6379/tcp 16379/udp 9379/tcp"));
    assert!(runtime.contains(r#"CMD ["/usr/local/bin/shoal", "--healthcheck"]"#));
    assert!(runtime.contains("ENV SHOAL_BIND=0.0.0.0"));
    let ignore = read(".dockerignore");
    assert!(
        ignore.lines().any(|l| l.trim() == "target"),
        "target/ stays out of the build context"
    );
}

/// The resources a Kustomization lists.
fn kustomize_resources() -> Vec<String> {
    let kustomization = yaml_one("deploy/k8s/kustomization.yaml");
    strings(&kustomization["resources"])
}

#[test]
fn kubernetes_manifests_validate_and_agree() {
    if !have_pyyaml() {
        return;
    }
    let resources = kustomize_resources();
    assert!(!resources.is_empty());
    let mut by_kind: std::collections::BTreeMap<String, Value> = Default::default();
    for file in &resources {
        for doc in yaml(&format!("deploy/k8s/{file}")) {
            let kind = doc["kind"].as_str().expect("kind").to_string();
            let name = doc["metadata"]["name"].as_str().expect("name").to_string();
            by_kind.insert(format!("{kind}/{name}"), doc);
        }
    }
    if tool(
        "kubernetes-validate",
        &["--version"],
        "python3 -m pip install kubernetes-validate",
    ) {
        let dir = workspace().join("deploy/k8s");
        let out = Command::new("kubernetes-validate")
            .args(["--strict", "--no-warn"])
            .args(&resources)
            .current_dir(&dir)
            .output()
            .expect("kubernetes-validate runs");
        assert!(
            out.status.success(),
            "kubernetes-validate --strict: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        println!("{}", String::from_utf8_lossy(&out.stdout).trim());
        // The Kustomization as kubectl renders it (only where kubectl is installed: it is
        // not in Debian's packages).
        let rendered = Command::new("kubectl").arg("kustomize").arg(&dir).output();
        match rendered {
            Ok(out) if out.status.success() => {
                let path = std::env::temp_dir()
                    .join(format!("shoal-kustomize-{}.yaml", std::process::id()));
                std::fs::write(&path, &out.stdout).expect("write the rendering");
                let checked = Command::new("kubernetes-validate")
                    .args(["--strict", "--no-warn"])
                    .arg(&path)
                    .output()
                    .expect("kubernetes-validate runs");
                let _ = std::fs::remove_file(&path);
                assert!(
                    checked.status.success(),
                    "kubectl kustomize output: {}",
                    String::from_utf8_lossy(&checked.stdout)
                );
                println!("kubectl kustomize deploy/k8s: rendered and valid");
            }
            Ok(out) => panic!(
                "kubectl kustomize deploy/k8s failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(_) => println!("kubectl not installed: the rendered Kustomization is not checked"),
        }
    }

    let set = &by_kind["StatefulSet/shoal"];
    let pod = &set["spec"]["template"];
    let labels = &pod["metadata"]["labels"];
    let container = &pod["spec"]["containers"][0];
    let env: Vec<&Value> = container["env"].as_array().expect("env").iter().collect();
    let env_var = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("env {name}"))
    };

    // Joined by the DNS names the headless Service gives the pods.
    let headless = set["spec"]["serviceName"].as_str().expect("serviceName");
    let service = &by_kind[&format!("Service/{headless}")];
    assert_eq!(service["spec"]["clusterIP"], "None");
    assert_eq!(service["spec"]["publishNotReadyAddresses"], true);
    assert_eq!(
        service["spec"]["selector"],
        set["spec"]["selector"]["matchLabels"]
    );
    let join = env_var("SHOAL_JOIN")["value"].as_str().expect("join");
    for (i, seed) in join.split(',').enumerate() {
        assert_eq!(seed, format!("shoal-{i}.{headless}:16379"));
    }
    // The secret from the Secret.
    let secret_ref = &env_var("SHOAL_CLUSTER_SECRET")["valueFrom"]["secretKeyRef"];
    let secret = &by_kind[&format!(
        "Secret/{}",
        secret_ref["name"].as_str().expect("secret name")
    )];
    let key = secret_ref["key"].as_str().expect("key");
    assert!(
        secret["stringData"][key].is_string(),
        "the Secret has {key}"
    );
    // Probes through the binary: ready = joined and hand-off done.
    let ready = strings(&container["readinessProbe"]["exec"]["command"]);
    assert_eq!(
        ready,
        ["/usr/local/bin/shoal", "--healthcheck", "--ready"],
        "readiness"
    );
    let live = strings(&container["livenessProbe"]["exec"]["command"]);
    assert_eq!(live, ["/usr/local/bin/shoal", "--healthcheck"], "liveness");
    // Time to hand the slots over on SIGTERM.
    let config_map = &by_kind["ConfigMap/shoal-config"];
    let conf = config_map["data"]["shoal.conf"]
        .as_str()
        .expect("shoal.conf");
    let leave_ms: u64 = conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("cluster-leave-timeout "))
        .and_then(|v| v.trim().parse().ok())
        .expect("cluster-leave-timeout in shoal.conf");
    let grace = pod["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    assert!(
        grace * 1000 >= leave_ms + 10_000,
        "grace {grace} s vs leave timeout {leave_ms} ms"
    );
    assert_eq!(
        env_var("SHOAL_CONFIG")["value"],
        format!(
            "{}/shoal.conf",
            container["volumeMounts"][0]["mountPath"]
                .as_str()
                .expect("mount")
        )
    );
    // Resources, and maxmemory under the memory limit.
    assert!(container["resources"]["requests"]["cpu"].is_string());
    assert!(container["resources"]["limits"]["memory"].is_string());
    // The PodDisruptionBudget covers these pods, one at a time.
    let pdb = &by_kind["PodDisruptionBudget/shoal"];
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    assert_eq!(&pdb["spec"]["selector"]["matchLabels"], labels);
    assert_eq!(
        by_kind["Service/shoal"]["spec"]["selector"],
        set["spec"]["selector"]["matchLabels"]
    );
}
