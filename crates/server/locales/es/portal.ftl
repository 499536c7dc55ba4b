site-name = Plenary
lang-name = Español
nav-rooms = Mis salas
nav-sign-in = Iniciar sesión
nav-sign-up = Crear una cuenta
nav-sign-out = Cerrar sesión
signed-in-as = Sesión iniciada como { $name }

sign-in-title = Iniciar sesión
sign-up-title = Crear una cuenta
field-email = Correo electrónico
field-password = Contraseña
field-name = Tu nombre
field-room-name = Nombre de la sala
button-sign-in = Entrar
button-sign-up = Crear cuenta
button-create-room = Crear sala
no-account = ¿Aún no tienes cuenta?
have-account = ¿Ya tienes cuenta?

error-credentials = El correo o la contraseña no son correctos.
error-too-many = Demasiados intentos. Vuelve a intentarlo en { $minutes } minutos.
error-csrf = Este formulario ha caducado. Inténtalo de nuevo.
error-email = Escribe una dirección de correo válida.
error-password-short = La contraseña necesita al menos { $min } caracteres.
error-name = Escribe tu nombre.
error-email-taken = Puede que ya exista una cuenta con este correo. Prueba a iniciar sesión.
error-pending = Tu cuenta espera la aprobación de una persona administradora.
error-disabled = Esta cuenta está desactivada.
error-sign-up-closed = En este servidor las cuentas solo se crean por invitación.
notice-pending = ¡Gracias! Una persona administradora aprobará pronto tu cuenta.

rooms-title = Mis salas
rooms-empty = Aún no tienes salas.
room-open = Abrir
room-link = Enlace
