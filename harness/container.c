/* container.c - container detection and the image's package versions for the manifest. */
#include "container.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Installed packages as {"name": "version"}; NULL when dpkg-query fails (not Debian, no dpkg). */
static json_t *dpkg_packages(void)
{
    FILE *p = popen("dpkg-query -W -f '${db:Status-Abbrev}\\t${Package}\\t${Version}\\n' 2>/dev/null", "r");
    if (!p)
        return NULL;
    json_t *pkgs = json_object();
    char line[1024];
    while (pkgs && fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\n")] = '\0';
        char *name = strchr(line, '\t');
        char *version = name ? strchr(name + 1, '\t') : NULL;
        if (!version || strncmp(line, "ii", 2) != 0) /* only installed packages */
            continue;
        *name++ = '\0';
        *version++ = '\0';
        json_object_set_new(pkgs, name, json_string(version));
    }
    int rc = pclose(p);
    if (rc != 0 || !pkgs || json_object_size(pkgs) == 0) {
        json_decref(pkgs);
        return NULL;
    }
    return pkgs;
}

json_t *kvb_container_json(void)
{
    const char *runtime = NULL;
    if (access("/run/.containerenv", F_OK) == 0)
        runtime = "podman";
    else if (access("/.dockerenv", F_OK) == 0)
        runtime = "docker";
    return runtime ? json_pack("{s:s}", "runtime", runtime) : NULL;
}

void kvb_container_add_packages(json_t *container)
{
    if (!json_is_object(container))
        return;
    json_t *pkgs = dpkg_packages();
    if (pkgs) {
        json_object_set_new(container, "packages", pkgs);
    } else {
        json_object_set_new(container, "packages", json_null());
        json_object_set_new(container, "packages_error", json_string("dpkg-query -W failed or listed nothing"));
    }
}
