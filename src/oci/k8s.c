/* `zerohop k8s scaffold`: Kubernetes manifests for an app, written as text.
 *
 * Files in the output directory: runtimeclass.yaml (RuntimeClass `zerohop`, handler
 * `zerohop`; not for the plain image), app.yaml (Deployment and Service), config.yaml
 * (ConfigMap with runtime-config.toml, Secret with the variables as SPIN_VARIABLE_*),
 * redis.yaml with --redis (Deployment and Service `APP-redis`), containerd-config.toml (the
 * runtime entry a node needs for the shim) and README.md.
 *
 * Redis wiring: with --redis every key-value store the components use is put on the Redis
 * Service in the runtime config, and every variable that feeds a Redis address (the trigger's
 * address, a redis:// outbound host, or a name with "redis" in it) gets the Service's address
 * in the Secret, so the app reaches Redis by its Service name. Every string from the manifest
 * is written as a double-quoted YAML (JSON) string. */
#include "host/manifest.h"
#include "oci/oci.h"
#include "wasm/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REDIS_PORT 6379

/* A DNS-1123 label from the app's name: lowercase alphanumerics and '-', at most 50 bytes
 * (room for "-redis", "-variables", "-runtime-config"). */
static void dns_name(const char *in, char out[51]) {
  size_t n = 0;
  for (; *in && n < 50; in++) {
    char c = (char)tolower((unsigned char)*in);
    if (isalnum((unsigned char)c))
      out[n++] = c;
    else if (n > 0 && out[n - 1] != '-')
      out[n++] = '-';
  }
  while (n > 0 && out[n - 1] == '-')
    n--;
  if (n == 0)
    memcpy(out, "app", 4);
  else
    out[n] = '\0';
}

/* The variable a `{{ name }}` template in `s` names, when `s` is that template alone
 * (*whole) or starts with redis:// followed by one. */
static bool template_var(const char *s, char *name, size_t cap, bool *whole) {
  const char *open = strstr(s, "{{");
  if (!open)
    return false;
  *whole = open == s;
  if (!*whole && strncmp(s, "redis://", 8) != 0)
    return false;
  const char *p = open + 2;
  while (*p == ' ')
    p++;
  size_t n = 0;
  while ((isalnum((unsigned char)p[n]) || p[n] == '_') && n + 1 < cap)
    n++;
  memcpy(name, p, n);
  name[n] = '\0';
  return n > 0;
}

typedef struct redis_vars {
  char names[64][128];
  bool whole[64];
  size_t n;
} redis_vars;

static void note_redis(redis_vars *rv, const char *s) {
  if (!s || rv->n >= 64)
    return;
  bool whole = false;
  if (template_var(s, rv->names[rv->n], sizeof rv->names[0], &whole)) {
    rv->whole[rv->n] = whole;
    rv->n++;
  }
}

/* The Redis value a variable gets, or NULL. */
static const char *redis_value(const redis_vars *rv, const char *var, const char *url,
                               const char *hostport) {
  for (size_t i = 0; i < rv->n; i++)
    if (!strcmp(rv->names[i], var))
      return rv->whole[i] ? url : hostport;
  return strstr(var, "redis") ? url : NULL;
}

static zh_error *write_text(const char *dir, const char *name, zh_oci_buf *b) {
  if (b->oom)
    return zh_error_oom();
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return zh_oci_write_file(path, b->data, b->len);
}

static void labels(zh_oci_buf *b, const char *indent, const char *name) {
  zh_oci_buf_printf(b, "%slabels:\n%s  app.kubernetes.io/name: ", indent, indent);
  zh_oci_buf_quoted(b, name);
  zh_oci_buf_str(b, "\n");
}

static void app_yaml(zh_oci_buf *b, const char *name, const zh_oci_k8s_options *o) {
  bool plain = o->plain;
  zh_oci_buf_str(b, "# The app: a Deployment and the Service in front of it.\n"
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ");
  zh_oci_buf_quoted(b, name);
  zh_oci_buf_str(b, "\n");
  labels(b, "  ", name);
  zh_oci_buf_str(b, "spec:\n  replicas: 1\n  selector:\n    matchLabels:\n"
                    "      app.kubernetes.io/name: ");
  zh_oci_buf_quoted(b, name);
  zh_oci_buf_str(b, "\n  template:\n    metadata:\n");
  labels(b, "      ", name);
  zh_oci_buf_str(b, "    spec:\n");
  if (!plain)
    zh_oci_buf_str(b, "      runtimeClassName: zerohop\n");
  zh_oci_buf_str(b, "      containers:\n        - name: ");
  zh_oci_buf_quoted(b, name);
  zh_oci_buf_str(b, "\n          image: ");
  zh_oci_buf_quoted(b, o->image);
  zh_oci_buf_str(b, "\n");
  if (!plain)
    zh_oci_buf_str(b, "          command: [\"/\"]\n");
  else
    zh_oci_buf_str(b, "          args: [\"--runtime-config-file\", "
                      "\"/etc/zerohop/runtime-config.toml\"]\n");
  zh_oci_buf_str(b, "          ports:\n            - name: http\n              containerPort: 80\n"
                    "              protocol: TCP\n"
                    "          env:\n            - name: SPIN_HTTP_LISTEN_ADDR\n"
                    "              value: \"0.0.0.0:80\"\n"
                    "          envFrom:\n            - secretRef:\n                name: ");
  zh_oci_buf_printf(b, "\"%s-variables\"\n", name);
  zh_oci_buf_str(b, "          volumeMounts:\n            - name: runtime-config\n");
  if (plain)
    zh_oci_buf_str(b, "              mountPath: /etc/zerohop\n");
  else
    zh_oci_buf_str(b, "              mountPath: /runtime-config.toml\n"
                      "              subPath: runtime-config.toml\n");
  zh_oci_buf_str(b, "              readOnly: true\n      volumes:\n        - name: runtime-config\n"
                    "          configMap:\n");
  zh_oci_buf_printf(b, "            name: \"%s-runtime-config\"\n", name);
  zh_oci_buf_str(b, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: ");
  zh_oci_buf_quoted(b, name);
  zh_oci_buf_str(b, "\n");
  labels(b, "  ", name);
  zh_oci_buf_str(b, "spec:\n  selector:\n    app.kubernetes.io/name: ");
  zh_oci_buf_quoted(b, name);
  zh_oci_buf_str(b, "\n  ports:\n    - name: http\n      port: 80\n      targetPort: 80\n"
                    "      protocol: TCP\n");
}

static void redis_yaml(zh_oci_buf *b, const char *svc) {
  zh_oci_buf_str(b, "# Redis beside the app, reached by its Service name.\n"
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ");
  zh_oci_buf_quoted(b, svc);
  zh_oci_buf_str(b, "\n");
  labels(b, "  ", svc);
  zh_oci_buf_str(b, "spec:\n  replicas: 1\n  selector:\n    matchLabels:\n"
                    "      app.kubernetes.io/name: ");
  zh_oci_buf_quoted(b, svc);
  zh_oci_buf_str(b, "\n  template:\n    metadata:\n");
  labels(b, "      ", svc);
  zh_oci_buf_printf(b,
                    "    spec:\n      containers:\n        - name: redis\n"
                    "          image: \"redis:7\"\n          ports:\n            - name: redis\n"
                    "              containerPort: %d\n              protocol: TCP\n",
                    REDIS_PORT);
  zh_oci_buf_str(b, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: ");
  zh_oci_buf_quoted(b, svc);
  zh_oci_buf_str(b, "\n");
  labels(b, "  ", svc);
  zh_oci_buf_str(b, "spec:\n  selector:\n    app.kubernetes.io/name: ");
  zh_oci_buf_quoted(b, svc);
  zh_oci_buf_printf(b,
                    "\n  ports:\n    - name: redis\n      port: %d\n      targetPort: %d\n"
                    "      protocol: TCP\n",
                    REDIS_PORT, REDIS_PORT);
}

/* The key-value stores the components use, once each. */
static size_t stores(const zh_manifest *m, const char **out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < m->ncomponents; i++)
    for (size_t k = 0; k < m->components[i].key_value_stores.len; k++) {
      const char *s = m->components[i].key_value_stores.items[k];
      bool seen = false;
      for (size_t j = 0; j < n; j++)
        seen = seen || !strcmp(out[j], s);
      if (!seen && n < cap)
        out[n++] = s;
    }
  return n;
}

static bool toml_bare_key(const char *s) {
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
      return false;
  return true;
}

static void config_yaml(zh_oci_buf *b, const zh_manifest *m, const char *name,
                        const zh_oci_k8s_options *o, const char *url, const char *hostport) {
  /* runtime-config.toml, as a block scalar indented four spaces */
  zh_oci_buf_str(b, "# Runtime config (mounted where zerohop reads it) and the variables.\n"
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n");
  zh_oci_buf_printf(b, "  name: \"%s-runtime-config\"\n", name);
  labels(b, "  ", name);
  zh_oci_buf_str(b, "data:\n  runtime-config.toml: |\n"
                    "    # written by `zerohop k8s scaffold`\n");
  if (o->redis) {
    const char *names[256];
    size_t n = stores(m, names, 256);
    for (size_t i = 0; i < n; i++) {
      if (toml_bare_key(names[i]))
        zh_oci_buf_printf(b, "    [key_value_store.%s]\n", names[i]);
      else
        zh_oci_buf_printf(b, "    [key_value_store.\"%s\"]\n", names[i]);
      zh_oci_buf_printf(b, "    type = \"redis\"\n    url = \"%s\"\n", url);
    }
  }
  redis_vars rv = {0};
  note_redis(&rv, m->redis_address);
  for (size_t i = 0; i < m->nredis; i++)
    note_redis(&rv, m->redis[i].address);
  for (size_t i = 0; i < m->ncomponents; i++)
    for (size_t k = 0; k < m->components[i].allowed_outbound_hosts.len; k++)
      note_redis(&rv, m->components[i].allowed_outbound_hosts.items[k]);
  zh_oci_buf_str(b, "---\napiVersion: v1\nkind: Secret\nmetadata:\n");
  zh_oci_buf_printf(b, "  name: \"%s-variables\"\n", name);
  labels(b, "  ", name);
  zh_oci_buf_str(b, "type: Opaque\nstringData:\n");
  if (m->nvariables == 0)
    zh_oci_buf_str(b, "  {}\n");
  for (size_t i = 0; i < m->nvariables; i++) {
    const zh_manifest_variable *v = &m->variables[i];
    const char *value = o->redis ? redis_value(&rv, v->name, url, hostport) : NULL;
    if (!value)
      value = v->default_value ? v->default_value : "";
    zh_oci_buf_str(b, "  SPIN_VARIABLE_");
    for (const char *p = v->name; *p; p++)
      zh_oci_buf_printf(b, "%c", toupper((unsigned char)*p));
    zh_oci_buf_str(b, ": ");
    zh_oci_buf_quoted(b, value);
    if (v->required && !v->default_value && !*value)
      zh_oci_buf_str(b, "  # required: set it before applying");
    zh_oci_buf_str(b, "\n");
  }
}

static void readme(zh_oci_buf *b, const zh_manifest *m, const char *name,
                   const zh_oci_k8s_options *o, const char *svc) {
  zh_oci_buf_printf(b, "# %s on Kubernetes\n\nWritten by `zerohop k8s scaffold` from %s.\n\n", name,
                    m->path);
  zh_oci_buf_printf(b,
                    "Image: `%s` (%s). Build and push it with\n\n"
                    "    zerohop image build%s -f %s -o app.oci.tar\n"
                    "    skopeo copy oci-archive:app.oci.tar docker://%s\n\n",
                    o->image, o->plain ? "the plain image, runc" : "the Wasm image, the shim",
                    o->plain ? " --plain" : "", m->path, o->image);
  if (!o->plain)
    zh_oci_buf_str(b, "Each node that runs the app needs containerd-shim-zerohop-v2 on its PATH\n"
                      "and the runtime entry of `containerd-config.toml` in\n"
                      "/etc/containerd/config.toml (then restart containerd). `runtimeclass.yaml`\n"
                      "lets pods ask for it with `runtimeClassName: zerohop`.\n\n");
  zh_oci_buf_str(b, "Then:\n\n");
  if (!o->plain)
    zh_oci_buf_str(b, "    kubectl apply -f runtimeclass.yaml\n");
  zh_oci_buf_str(b, "    kubectl apply -f config.yaml\n");
  if (o->redis)
    zh_oci_buf_str(b, "    kubectl apply -f redis.yaml\n");
  zh_oci_buf_str(b, "    kubectl apply -f app.yaml\n\n");
  zh_oci_buf_printf(b,
                    "The app listens on port 80 (SPIN_HTTP_LISTEN_ADDR) behind the Service `%s`.\n"
                    "Variables are SPIN_VARIABLE_* keys of the Secret `%s-variables`; the "
                    "runtime\nconfig is the ConfigMap `%s-runtime-config`.\n",
                    name, name, name);
  if (o->redis)
    zh_oci_buf_printf(b,
                      "\nRedis runs as `%s` (port %d): the key-value stores are on it through "
                      "the\nruntime config, and the variables that hold Redis addresses point "
                      "at it.\nRedis is the one hop that leaves the process: component-to-"
                      "component calls\nand the key-value cache stay inside zerohop.\n",
                      svc, REDIS_PORT);
}

zh_error *zh_oci_k8s_scaffold(const char *manifest_path, const zh_oci_k8s_options *o,
                              const char *dir) {
  zh_manifest *m = NULL;
  zh_error *err = zh_manifest_load(manifest_path, &m);
  if (err)
    return err;
  char name[51], svc[64], image[512], url[128], hostport[96];
  dns_name(m->name ? m->name : "app", name);
  snprintf(svc, sizeof svc, "%s-redis", name);
  snprintf(url, sizeof url, "redis://%s:%d", svc, REDIS_PORT);
  snprintf(hostport, sizeof hostport, "%s:%d", svc, REDIS_PORT);
  zh_oci_k8s_options opt = *o;
  if (!opt.image) {
    snprintf(image, sizeof image, "zerohop.local/%s:%s", name, m->version ? m->version : "latest");
    opt.image = image;
  }
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    err = zh_error_new(ZH_ERR_IO, "%s: %s", dir, strerror(errno));
  zh_oci_buf b = {0};
  if (!err && !opt.plain) {
    zh_oci_buf_str(&b, "# The runtime class that sends pods to containerd-shim-zerohop-v2.\n"
                       "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n"
                       "  name: zerohop\nhandler: zerohop\n");
    err = write_text(dir, "runtimeclass.yaml", &b);
    zh_oci_buf_free(&b);
    zh_oci_buf_str(&b, "# In /etc/containerd/config.toml on each node that runs zerohop apps.\n"
                       "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.zerohop]\n"
                       "  runtime_type = \"io.containerd.zerohop.v2\"\n");
    if (!err)
      err = write_text(dir, "containerd-config.toml", &b);
    zh_oci_buf_free(&b);
  }
  if (!err) {
    app_yaml(&b, name, &opt);
    err = write_text(dir, "app.yaml", &b);
    zh_oci_buf_free(&b);
  }
  if (!err) {
    config_yaml(&b, m, name, &opt, url, hostport);
    err = write_text(dir, "config.yaml", &b);
    zh_oci_buf_free(&b);
  }
  if (!err && opt.redis) {
    redis_yaml(&b, svc);
    err = write_text(dir, "redis.yaml", &b);
    zh_oci_buf_free(&b);
  }
  if (!err) {
    readme(&b, m, name, &opt, svc);
    err = write_text(dir, "README.md", &b);
    zh_oci_buf_free(&b);
  }
  zh_manifest_free(m);
  return err;
}
