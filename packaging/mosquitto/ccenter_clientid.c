/*
 * ccenter_clientid: a Mosquitto 2 plugin that binds each MQTT client id to its broker user.
 *
 * MQTT hands a client id's session to whoever connects with it, and Mosquitto does so whatever the
 * user: anyone with a password who knows a process's client id can knock that process off the
 * broker. ccenter names every connection "<user>:<name>-<random>" (bus/mqtt.py), and this plugin
 * refuses a connection whose client id does not start with its own user name and a colon. A user
 * name never holds a colon (`ccenter broker provision` refuses one), so no user can take another's
 * client id. The refusal happens at authentication, before Mosquitto closes an existing connection
 * of that client id: the process keeps its session.
 *
 * It only refuses: a connection that passes is then checked by the password file (or any other
 * authentication) as usual. Clients without a user name are left to `allow_anonymous`.
 *
 * Build (Debian: apt-get install mosquitto-dev libmosquitto-dev):
 *   gcc -O2 -Wall -shared -fPIC -o /usr/lib/ccenter/mosquitto_ccenter_clientid.so ccenter_clientid.c
 * and load it with `plugin /usr/lib/ccenter/mosquitto_ccenter_clientid.so` (packaging/mosquitto/ccenter.conf).
 */
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

static mosquitto_plugin_id_t *plugin_id = NULL;

/* At most the first 80 bytes of `text`, control characters as '?': the client chose it (log lines stay one line). */
static const char *printable(const char *text, char *out, size_t size)
{
	size_t i;

	if(text == NULL){
		return "(none)";
	}
	for(i = 0; i + 1 < size && text[i] != '\0'; i++){
		unsigned char c = (unsigned char)text[i];
		out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[i] = '\0';
	return out;
}

static int basic_auth(int event, void *event_data, void *userdata)
{
	char shown_id[81];
	char shown_user[81];
	struct mosquitto_evt_basic_auth *ed = event_data;
	const char *client_id;
	size_t length;

	(void)event;
	(void)userdata;
	if(ed->username == NULL){
		return MOSQ_ERR_PLUGIN_DEFER;
	}
	client_id = mosquitto_client_id(ed->client);
	length = strlen(ed->username);
	if(client_id != NULL && strncmp(client_id, ed->username, length) == 0 && client_id[length] == ':'){
		return MOSQ_ERR_PLUGIN_DEFER;
	}
	printable(ed->username, shown_user, sizeof(shown_user));
	mosquitto_log_printf(MOSQ_LOG_NOTICE, "ccenter_clientid: refused client id %s for user %s (it must start "
			"with \"%s:\")", printable(client_id, shown_id, sizeof(shown_id)), shown_user, shown_user);
	return MOSQ_ERR_AUTH;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	int i;

	for(i = 0; i < supported_version_count; i++){
		if(supported_versions[i] == 5){
			return 5;
		}
	}
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options,
		int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	plugin_id = identifier;
	return mosquitto_callback_register(plugin_id, MOSQ_EVT_BASIC_AUTH, basic_auth, NULL, NULL);
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	return mosquitto_callback_unregister(plugin_id, MOSQ_EVT_BASIC_AUTH, basic_auth, NULL);
}
